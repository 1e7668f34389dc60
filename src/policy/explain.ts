/**
 * Rules explain themselves in words (after mockttp's matcher `explain()`): the text is the
 * reason shown to the agent, the approver and the audit when a rule has no `reason`.
 */
import { hasWildcard } from './glob.js';
import type { RuleSpec } from './schema.js';

/** ['a'] → 'a'; ['a','b'] → 'a or b'; ['a','b','c'] → 'a, b or c'. */
export function orList(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1] ?? ''}`;
}

function describeMethods(methods: string[]): string {
  if (methods.includes('*')) return 'any method';
  return orList(methods);
}

function targetNoun(methods: string[]): string {
  const tools = methods.some((m) => m === 'tools/call' || hasWildcard(m));
  const prompts = methods.some((m) => m === 'prompts/get' || hasWildcard(m));
  if (prompts && !tools) return 'prompt';
  if (tools && prompts) return 'tool or prompt';
  return 'tool';
}

function describeTargets(noun: string, globs: string[]): string {
  if (!globs.some(hasWildcard)) return `of ${noun} ${orList(globs)}`;
  return `of a ${noun} matching ${orList(globs)}`;
}

function describeServers(servers: string[] | undefined): string {
  if (!servers) return 'on any server';
  return `on server ${orList(servers)}`;
}

/** e.g. "tools/call of a tool matching shell* on any server". */
export function explainRule(rule: RuleSpec): string {
  const parts: string[] = [describeMethods(rule.method)];
  if (rule.tool) {
    parts.push(describeTargets(targetNoun(rule.method), rule.tool));
  } else if (rule.uri) {
    parts.push(describeTargets('resource', rule.uri));
  } else if (rule.method.some((m) => m === 'tools/call' || m === 'prompts/get')) {
    parts.push(`of any ${targetNoun(rule.method)}`);
  }
  parts.push(describeServers(rule.server));
  if (rule.when !== undefined) parts.push(`when ${rule.when.trim().replace(/\s+/g, ' ')}`);
  return parts.join(' ');
}
