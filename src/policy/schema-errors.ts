/**
 * What a gov.yaml mistake is called: zod's issues turned into messages in the words of the
 * file (the keys a section takes, "expected a list of strings, got a number").
 */
import { z } from 'zod';
import { PINS_KEYS } from './pins-schema.js';
import { APPROVALS_KEYS } from './approvals-schema.js';

const KEYS: Record<string, string[]> = {
  root: [
    'version',
    'servers',
    'unknown_servers',
    'default',
    'approval_timeout',
    'rules',
    'credentials',
    'output',
    'tools_list',
    'deny_as',
    'passthrough',
    'websocket',
    'isolate',
    'audit',
    'mode',
    'pins',
    'serve',
    'approvals',
  ],
  rule: [
    'id',
    'server',
    'tool',
    'uri',
    'method',
    'when',
    'decision',
    'reason',
    'timeout',
    'constraints',
    'mode',
  ],
  constraints: ['max_calls', 'rate', 'timeout'],
  credential: ['secret', 'hosts', 'header', 'format', 'env', 'scheme', 'inject'],
  output: ['redact'],
  pins: PINS_KEYS,
  approvals: APPROVALS_KEYS,
};

function keysAt(path: (string | number)[]): string[] {
  const p = path.map((s) => (typeof s === 'number' ? '#' : s)).join('.');
  if (p === '') return KEYS['root'] ?? [];
  if (p === 'rules.#') return KEYS['rule'] ?? [];
  if (p === 'rules.#.constraints') return KEYS['constraints'] ?? [];
  if (p === 'credentials.#') return KEYS['credential'] ?? [];
  if (p === 'output') return KEYS['output'] ?? [];
  if (p === 'pins') return KEYS['pins'] ?? [];
  if (p === 'approvals') return KEYS['approvals'] ?? [];
  return [];
}

function article(t: string): string {
  switch (t) {
    case 'string':
      return 'a string';
    case 'number':
    case 'integer':
      return 'a number';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'boolean':
      return 'true or false';
    case 'null':
    case 'undefined':
      return 'nothing';
    default:
      return t;
  }
}

/** Messages that say what was expected, in the words of the file (not zod's). */
export const policyErrorMap: z.ZodErrorMap = (issue, ctx) => {
  const last = issue.path[issue.path.length - 1];
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      if (issue.received === 'undefined' && typeof last === 'string')
        return { message: `missing required key '${last}'` };
      if (issue.path.length === 0 && issue.expected === 'object')
        return { message: 'expected a mapping with version: 1 at the top level' };
      return { message: `expected ${article(issue.expected)}, got ${article(issue.received)}` };
    case z.ZodIssueCode.unrecognized_keys: {
      const known = keysAt(issue.path);
      const what =
        issue.keys.length === 1
          ? `unknown key '${issue.keys[0]}'`
          : `unknown keys ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
      return { message: known.length ? `${what} (expected one of: ${known.join(', ')})` : what };
    }
    case z.ZodIssueCode.invalid_enum_value:
      return { message: `expected one of ${issue.options.join(', ')}, got '${String(issue.received)}'` };
    case z.ZodIssueCode.invalid_literal:
      if (issue.received === undefined && typeof last === 'string')
        return { message: `missing required key '${last}'` };
      if (last === 'version')
        return {
          message: `unsupported version ${JSON.stringify(issue.received) ?? ''} (expected version: 1)`,
        };
      return {
        message: `expected ${JSON.stringify(issue.expected)}, got ${JSON.stringify(issue.received) ?? 'nothing'}`,
      };
    case z.ZodIssueCode.too_small:
      if (issue.type === 'array')
        return { message: `expected a list with at least ${String(issue.minimum)} entry` };
      if (issue.type === 'string') return { message: 'expected a non-empty string' };
      return { message: `expected at least ${String(issue.minimum)}` };
    default:
      return { message: ctx.defaultError };
  }
};
