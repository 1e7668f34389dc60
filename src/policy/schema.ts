/**
 * The gov.yaml schema (SPEC §4) as zod: the raw document in, a typed PolicySpec out.
 * Unknown keys are errors; every message says what was expected, and every issue keeps its
 * path so the loader can point at file:line:col.
 */
import { z } from 'zod';
import type { Constraints, DecisionKind } from '../types.js';
import type { CredentialBinding, UnknownServers } from './compiled.js';
import { parseDurationMs, parseRate } from './duration.js';
import { splitHostPort } from './glob.js';
import { pinsSchema, type PinsSpec } from './pins-schema.js';
import { approvalsSchema, type ApprovalsSpec } from './approvals-schema.js';
import { policyErrorMap } from './schema-errors.js';

export interface RuleSpec {
  id: string;
  /** Registry (or stdio --name) names; undefined = any server. */
  server?: string[];
  tool?: string[];
  uri?: string[];
  /** Exact method names or globs; default ['tools/call']. */
  method: string[];
  when?: string;
  decision: DecisionKind;
  reason?: string;
  /** The rule's own approval timeout. */
  timeoutMs?: number;
  constraints?: Constraints;
  /** `mode: shadow`: the rule's decision is recorded, the call forwarded as if allowed. */
  shadow?: boolean;
}

export interface PolicySpec {
  version: 1;
  /** Registry: name → URL globs, in file order. Undefined = registry off. */
  servers?: Array<[string, string[]]>;
  unknownServers: UnknownServers;
  default: DecisionKind;
  approvalTimeoutMs?: number;
  rules: RuleSpec[];
  credentials: CredentialBinding[];
  redact: { vault: boolean; secrets: boolean };
  toolsList: 'hide_denied' | 'show';
  denyAs: 'error' | 'result';
  passthrough: string[];
  /** Host globs that may open a raw (uninspected, audited, credential-free) WebSocket tunnel. */
  websocket: string[];
  /** `isolate: required`: `gov run` refuses to start without `--isolate`. */
  isolateRequired: boolean;
  /** `audit.export.otlp`: where audit records are shipped (header values may name vault secrets). */
  auditOtlp?: AuditOtlpSpec;
  /** `serve.routes`: `gov serve`'s path prefixes and the servers mounted there. */
  serveRoutes?: Record<string, string>;
  /** `mode: shadow` for the whole policy: every decision is advisory. */
  mode: 'enforce' | 'shadow';
  pins: PinsSpec;
  approvals: ApprovalsSpec;
}

export interface AuditOtlpSpec {
  endpoint: string;
  headers: Record<string, string | { secret: string }>;
  /** OTLP encoding over HTTP (OpenTelemetry's OTEL_EXPORTER_OTLP_PROTOCOL values). */
  protocol: OtlpProtocol;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Every rule id gov itself puts in a decision (and so in the audit); a policy rule may not take
 * one, so an audit record's `rule` always says whether a user's rule or gov decided.
 * test/policy/reserved-rule-ids.test.ts checks this list against what src/ emits. */
export const RESERVED_RULE_IDS: readonly string[] = [
  'default',
  'discovery',
  'unknown-server',
  'websocket',
  'gov-error',
  'policy-error',
  'audit-unavailable',
  'pins-change',
  'pins-poison',
  'secret-elicitation',
  'task-owner',
];
const TOOL_METHODS = ['tools/call', 'prompts/get'];
const URI_METHODS = ['resources/read', 'resources/subscribe', 'resources/unsubscribe'];

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const nonEmpty = z.string().min(1);

/** A value or a non-empty list of values; always a list after parsing. */
function oneOrMany(item: z.ZodType<string>, what: string) {
  return z.unknown().transform((v, ctx): string[] => {
    if (Array.isArray(v) && v.length === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected ${what} or a non-empty list of them` });
      return z.NEVER;
    }
    const items: unknown[] = Array.isArray(v) ? v : [v];
    const out: string[] = [];
    items.forEach((x, i) => {
      const r = item.safeParse(x, { errorMap: policyErrorMap });
      if (r.success) out.push(r.data);
      else
        for (const iss of r.error.issues)
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: iss.message,
            path: Array.isArray(v) ? [i, ...iss.path] : iss.path,
          });
    });
    return out;
  });
}

/** `rules:` with every entry commented out is YAML null: read it as an empty list. */
function emptyAsNone<T extends z.ZodTypeAny>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema);
}

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === null) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `expected a duration like 30s, 10m or 500ms, got '${v}'`,
    });
    return z.NEVER;
  }
  return ms;
});

const decision = z.enum(['allow', 'deny', 'approve']);
const name = z
  .string()
  .regex(NAME_RE, { message: 'expected a name of letters, digits, ., _ or - (at most 64)' });
const method = z.string().regex(/^[A-Za-z0-9_/.*?-]+$/, {
  message: 'expected an MCP method name such as tools/call or resources/read',
});

const constraints = z
  .object({
    max_calls: z
      .number()
      .int({ message: 'expected a whole number' })
      .positive({ message: 'expected at least 1' })
      .optional(),
    rate: z
      .string()
      .transform((v, ctx) => {
        const r = parseRate(v);
        if (!r) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: `expected a rate like 10/min, 5/sec or 100/hour, got '${v}'`,
          });
          return z.NEVER;
        }
        return r;
      })
      .optional(),
    timeout: duration.optional(),
  })
  .strict();

const rule = z
  .object({
    id: nonEmpty.regex(/^\S+$/, { message: 'expected a rule id without spaces' }),
    server: oneOrMany(name, 'a server name').optional(),
    tool: oneOrMany(nonEmpty, 'a tool name or glob').optional(),
    uri: oneOrMany(nonEmpty, 'a URI glob').optional(),
    method: oneOrMany(method, 'a method').optional(),
    when: nonEmpty.optional(),
    decision,
    reason: nonEmpty.optional(),
    timeout: duration.optional(),
    constraints: constraints.optional(),
    mode: z.enum(['enforce', 'shadow']).optional(),
  })
  .strict();

const credential = z
  .object({
    secret: name,
    hosts: z.array(nonEmpty).min(1),
    header: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
        message: 'expected an HTTP header name such as Authorization',
      })
      .default('Authorization'),
    format: z
      .string()
      .refine((f) => f.includes('{secret}'), {
        message: "expected a format containing {secret}, e.g. 'Bearer {secret}'",
      })
      .default('Bearer {secret}'),
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected an environment variable name' })
      .optional(),
    scheme: z.enum(['https', 'http']).default('https'),
    inject: z
      .union([z.enum(['header', 'body']), z.array(z.enum(['header', 'body'])).min(1)])
      .default('header'),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.hosts.forEach((h, j) => {
      const { port } = splitHostPort(h);
      if (port !== null && (port < 1 || port > 65535))
        ctx.addIssue({ code: 'custom', path: ['hosts', j], message: `port ${port} is out of range` });
      // Plain HTTP is readable by anyone on the path, and a portless entry would send the
      // secret to whatever listens on port 80 of that host: both must be written out.
      if (c.scheme === 'http' && port === null)
        ctx.addIssue({
          code: 'custom',
          path: ['hosts', j],
          message: `scheme: http needs an explicit port on every host (e.g. '${h}:8080')`,
        });
    });
  });

/** Every host entry with its port written out: 443 for https when the entry names none. */
function hostsWithPorts(hosts: string[]): string[] {
  return hosts.map((h) => {
    const { host, port } = splitHostPort(h);
    const name = host.includes(':') ? `[${host}]` : host;
    return `${name}:${port ?? 443}`;
  });
}

const root = z
  .object({
    version: z.literal(1),
    servers: z.record(name, oneOrMany(nonEmpty, 'a URL pattern')).optional(),
    unknown_servers: z.enum(['allow', 'deny', 'approve']).default('deny'),
    default: decision.default('approve'),
    approval_timeout: duration.optional(),
    rules: emptyAsNone(z.array(rule).default([])),
    credentials: emptyAsNone(z.array(credential).default([])),
    output: z
      .object({ redact: z.array(z.enum(['vault', 'secrets'])).default(['vault', 'secrets']) })
      .strict()
      .optional(),
    tools_list: z.enum(['hide_denied', 'show']).default('hide_denied'),
    deny_as: z.enum(['error', 'result']).default('error'),
    passthrough: emptyAsNone(z.array(nonEmpty).default([])),
    websocket: emptyAsNone(z.array(nonEmpty).default([])),
    isolate: z.enum(['required', 'optional']).default('optional'),
    audit: z
      .object({
        export: z
          .object({
            otlp: z
              .object({
                endpoint: z
                  .string()
                  .url({ message: 'expected an http(s) URL, e.g. https://otel.example:4318' }),
                headers: z
                  .record(nonEmpty, z.union([z.string(), z.object({ secret: nonEmpty }).strict()]))
                  .default({}),
                protocol: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
              })
              .strict(),
          })
          .strict(),
      })
      .strict()
      .optional(),
    mode: z.enum(['enforce', 'shadow']).default('enforce'),
    pins: emptyAsNone(pinsSchema),
    serve: z
      .object({
        routes: z
          .record(
            z.string().regex(/^\/[^\s?#]*$/, { message: "a route prefix starts with '/', e.g. /payments" }),
            z.string().url({ message: 'expected an http(s) URL, e.g. https://mcp.internal/mcp' }),
          )
          .default({}),
      })
      .strict()
      .optional(),
    approvals: emptyAsNone(approvalsSchema),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const seen = new Map<string, number>();
    doc.rules.forEach((r, i) => {
      const prev = seen.get(r.id);
      if (prev !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: `duplicate rule id '${r.id}' (first used by rule ${prev + 1})`,
        });
      else seen.set(r.id, i);
      if (RESERVED_RULE_IDS.includes(r.id))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: `rule id '${r.id}' is reserved by gov; choose another`,
        });
      if (doc.servers)
        r.server?.forEach((s, j) => {
          if (!doc.servers || !(s in doc.servers))
            ctx.addIssue({
              code: 'custom',
              path: ['rules', i, 'server', j],
              message: `unknown server '${s}' (expected one of the names under servers: ${Object.keys(doc.servers ?? {}).join(', ')})`,
            });
        });
      const methods = r.method ?? ['tools/call'];
      const literal = methods.every((m) => !/[*?]/.test(m));
      if (r.tool && literal && !methods.some((m) => TOOL_METHODS.includes(m)))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'tool'],
          message: 'tool applies only to method tools/call or prompts/get; set method or drop tool',
        });
      if (r.uri && literal && !methods.some((m) => URI_METHODS.includes(m)))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'uri'],
          message:
            'uri applies only to method resources/read (or resources/subscribe); add method: resources/read',
        });
      if (r.timeout !== undefined && r.decision !== 'approve')
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'timeout'],
          message: 'timeout is an approval timeout and applies only to decision: approve',
        });
      if (r.constraints && r.decision === 'deny')
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'constraints'],
          message: 'constraints bound allowed calls; they do not apply to decision: deny',
        });
    });
  })
  .transform((doc): PolicySpec => {
    const redact = doc.output?.redact ?? ['vault', 'secrets'];
    return {
      version: 1,
      ...(doc.servers ? { servers: Object.entries(doc.servers) } : {}),
      unknownServers: doc.unknown_servers,
      default: doc.default,
      ...(doc.approval_timeout !== undefined ? { approvalTimeoutMs: doc.approval_timeout } : {}),
      rules: doc.rules.map((r) => {
        const c = r.constraints;
        const cons: Constraints | undefined = c
          ? {
              ...(c.max_calls !== undefined ? { maxCalls: c.max_calls } : {}),
              ...(c.rate !== undefined ? { rate: c.rate } : {}),
              ...(c.timeout !== undefined ? { timeoutMs: c.timeout } : {}),
            }
          : undefined;
        const spec: RuleSpec = { id: r.id, method: r.method ?? ['tools/call'], decision: r.decision };
        if (r.server) spec.server = r.server;
        if (r.tool) spec.tool = r.tool;
        if (r.uri) spec.uri = r.uri;
        if (r.when !== undefined) spec.when = r.when;
        if (r.reason !== undefined) spec.reason = r.reason;
        if (r.timeout !== undefined) spec.timeoutMs = r.timeout;
        if (cons && Object.keys(cons).length > 0) spec.constraints = cons;
        if (r.mode === 'shadow') spec.shadow = true;
        return spec;
      }),
      credentials: doc.credentials.map((c) => ({
        secret: c.secret,
        hosts: hostsWithPorts(c.hosts),
        header: c.header,
        format: c.format,
        scheme: c.scheme,
        inject: [...new Set(typeof c.inject === 'string' ? [c.inject] : c.inject)],
        ...(c.env !== undefined ? { env: c.env } : {}),
      })),
      // Vault values are always redacted (SPEC §8: no secret value reaches the child); the
      // list can only switch the well-known secret formats on or off.
      redact: { vault: true, secrets: redact.includes('secrets') },
      toolsList: doc.tools_list,
      denyAs: doc.deny_as,
      passthrough: doc.passthrough,
      websocket: doc.websocket,
      isolateRequired: doc.isolate === 'required',
      ...(doc.audit ? { auditOtlp: doc.audit.export.otlp } : {}),
      ...(doc.serve ? { serveRoutes: doc.serve.routes } : {}),
      mode: doc.mode,
      pins: doc.pins,
      approvals: doc.approvals,
    };
  });

/** Validate a parsed YAML value; issues keep their document paths. */
export function parsePolicySpec(
  data: unknown,
): { ok: true; spec: PolicySpec } | { ok: false; issues: z.ZodIssue[] } {
  const r = root.safeParse(data, { errorMap: policyErrorMap });
  return r.success ? { ok: true, spec: r.data } : { ok: false, issues: r.error.issues };
}
