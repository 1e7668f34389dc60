/**
 * First-match-wins decisions over compiled rules. Pure and synchronous.
 *
 * Speed: the static part of a rule (server, method, tool, uri) depends only on a few
 * strings, so the rules that could match a given (server, method, tool, uri) are computed
 * once and memoised; the list stops at the first rule without `when` (it always matches).
 * A decision is then a map lookup plus the `when` expressions of the remaining candidates.
 */
import type { Constraints, DecisionKind, PolicyDecision } from '../types.js';
import type { CelContext, CompiledWhen } from './cel.js';
import { toCelArgs } from './cel.js';
import { misspelledKey } from './arg-spellings.js';
import { UNKNOWN_TOOL_INFO, type PolicyInput, type UnknownServers } from './compiled.js';
import { canonicalUri, type Glob } from './glob.js';

export interface CompiledRule {
  index: number;
  id: string;
  decision: DecisionKind;
  /** The rule's `reason`, else its explanation. */
  reason: string;
  explanation: string;
  /** null = any server. */
  servers: ReadonlySet<string> | null;
  methods: Glob[];
  /** null = any tool (or no tool). */
  tools: Glob[] | null;
  uris: Glob[] | null;
  when: CompiledWhen | null;
  constraints?: Constraints;
  approvalTimeoutMs?: number;
  /** `mode: shadow` on the rule. */
  shadow?: boolean;
}

export interface DeciderOptions {
  rules: CompiledRule[];
  defaultDecision: DecisionKind;
  registryEnabled: boolean;
  unknownServers: UnknownServers;
}

const CACHE_LIMIT = 10_000;

function anyMatch(globs: Glob[], s: string): boolean {
  for (const g of globs) if (g.literal === null ? g.test(s) : g.literal === s) return true;
  return false;
}

/** Everything except `when`. */
export function staticMatch(
  r: CompiledRule,
  server: string | null,
  method: string,
  tool: string | undefined,
  uri: string | undefined,
): boolean {
  if (r.servers !== null && (server === null || !r.servers.has(server))) return false;
  if (!anyMatch(r.methods, method)) return false;
  if (r.tools !== null && (tool === undefined || !anyMatch(r.tools, tool))) return false;
  if (r.uris !== null && (uri === undefined || !anyMatch(r.uris, uri))) return false;
  return true;
}

function fromRule(r: CompiledRule): PolicyDecision {
  const d: PolicyDecision = { decision: r.decision, rule: r.id, reason: r.reason };
  if (r.constraints) d.constraints = r.constraints;
  if (r.approvalTimeoutMs !== undefined) d.approvalTimeoutMs = r.approvalTimeoutMs;
  if (r.shadow === true) d.shadow = true;
  return d;
}

function targetOf(input: PolicyInput): string {
  if (input.tool !== undefined)
    return ` of ${input.method === 'prompts/get' ? 'prompt' : 'tool'} ${input.tool}`;
  if (input.uri !== undefined) return ` of ${input.uri}`;
  return '';
}

/**
 * True discovery: the handshake, liveness, listings and notifications. Every other method
 * reads data or acts (tools/call, resources/read, prompts/get, completion/complete, tasks/*,
 * sampling/createMessage, …), so the policy `default` governs it when no rule matches.
 */
export function isDiscovery(method: string): boolean {
  return (
    method === 'initialize' ||
    method === 'ping' ||
    method === 'server/discover' ||
    method.endsWith('/list') ||
    method.startsWith('notifications/')
  );
}

export type Decide = (input: PolicyInput) => PolicyDecision;

export function createDecider(opts: DeciderOptions): { decide: Decide; candidates: typeof candidatesFor } {
  const { rules, defaultDecision, registryEnabled, unknownServers } = opts;
  const cache = new Map<string, CompiledRule[]>();

  function candidatesFor(
    server: string | null,
    method: string,
    tool: string | undefined,
    written: string | undefined,
  ) {
    const uri = written === undefined ? undefined : canonicalUri(written);
    const key = `${server ?? '\u0000'}\u0001${method}\u0001${tool ?? '\u0000'}\u0001${uri ?? '\u0000'}`;
    let list = cache.get(key);
    if (list === undefined) {
      list = [];
      for (const r of rules) {
        if (!staticMatch(r, server, method, tool, uri)) continue;
        list.push(r);
        if (r.when === null) break;
      }
      // Unbounded keys (URIs, tool names chosen by the agent) must not grow memory forever.
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(key, list);
    }
    return list;
  }

  function ruleDecision(input: PolicyInput): PolicyDecision {
    const name = input.server.name;
    const list = candidatesFor(name, input.method, input.tool, input.uri);
    let ctx: CelContext | null = null;
    for (const r of list) {
      if (r.when !== null) {
        ctx ??= {
          args: toCelArgs(input.args),
          tool: input.tool ?? '',
          server: name ?? '',
          method: input.method,
          principal: input.principal ?? '',
          run: {
            id: input.run,
            tainted: (input.taintSources?.length ?? 0) > 0,
            taint_sources: [...(input.taintSources ?? [])],
          },
          tool_annotations: { ...(input.toolInfo ?? UNKNOWN_TOOL_INFO).annotations },
          tool_pinned: (input.toolInfo ?? UNKNOWN_TOOL_INFO).pinned,
        };
        const odd = misspelledKey(input.args, r.when.readNames);
        if (odd !== null)
          return {
            decision: 'deny',
            rule: r.id,
            reason: `rule '${r.id}' reads ${JSON.stringify(odd.name)}, but the call's arguments spell it ${JSON.stringify(odd.key)}, which a case-insensitive server reads as ${JSON.stringify(odd.name)}; denied to fail closed`,
          };
        const res = r.when.evaluate(ctx);
        if (!res.ok)
          return {
            decision: 'deny',
            rule: r.id,
            reason: `the condition of rule '${r.id}' failed to evaluate (${res.error}); denied to fail closed`,
          };
        if (!res.value) continue;
      }
      return fromRule(r);
    }
    if (!isDiscovery(input.method))
      return {
        decision: defaultDecision,
        rule: 'default',
        reason: `no rule matches ${input.method}${targetOf(input)}; the policy default is ${defaultDecision}`,
      };
    return {
      decision: 'allow',
      rule: 'discovery',
      reason: `${input.method} is discovery and no rule matches it`,
    };
  }

  function decide(input: PolicyInput): PolicyDecision {
    if (
      registryEnabled &&
      input.transport !== 'stdio' &&
      input.server.name === null &&
      unknownServers !== 'allow'
    ) {
      const why = `server ${input.server.url} is not listed under servers (unknown_servers: ${unknownServers})`;
      if (unknownServers === 'deny') return { decision: 'deny', rule: 'unknown-server', reason: why };
      // approve: hold everything but discovery, but a rule that denies still denies.
      const d = ruleDecision(input);
      if (isDiscovery(input.method) || d.decision === 'deny') return d;
      return { decision: 'approve', rule: 'unknown-server', reason: why };
    }
    return ruleDecision(input);
  }

  return { decide, candidates: candidatesFor };
}
