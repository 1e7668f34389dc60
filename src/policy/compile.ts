/**
 * PolicySpec → CompiledPolicy: globs become matchers, `when` becomes a checked CEL program,
 * every rule gets its explanation. Done once per load; pure (no I/O, no node:* imports).
 */
import type { ServerIdentity } from '../types.js';
import { compileWhen, type CelContext } from './cel.js';
import type { CompiledPolicy, PolicyIssue, RuleSummary } from './compiled.js';
import { PolicyCompileError } from './compiled.js';
import { createDecider, type CompiledRule } from './decide.js';
import { explainRule } from './explain.js';
import { explainMatch, readsArgs } from './match-explain.js';
import {
  hostGlob,
  nameGlob,
  normalizeServerUrl,
  serverUrlGlob,
  uriGlob,
  type Glob,
  type HostGlob,
} from './glob.js';
import { namedHttpsHosts } from './named-hosts.js';
import type { PolicySpec, RuleSpec } from './schema.js';

export interface CompileMeta {
  source: string;
  digest: string;
}

function compileRule(spec: RuleSpec, index: number, issues: PolicyIssue[]): CompiledRule {
  const explanation = explainRule(spec);
  let when: CompiledRule['when'] = null;
  if (spec.when !== undefined) {
    const c = compileWhen(spec.when);
    if (c.ok) when = c.when;
    else issues.push({ path: ['rules', index, 'when'], message: c.message, offset: c.offset });
  }
  const rule: CompiledRule = {
    index,
    id: spec.id,
    decision: spec.decision,
    reason: spec.reason ?? explanation,
    explanation,
    servers: spec.server ? new Set(spec.server) : null,
    methods: spec.method.map(nameGlob),
    tools: spec.tool ? spec.tool.map(nameGlob) : null,
    uris: spec.uri ? spec.uri.map(uriGlob) : null,
    when,
  };
  if (spec.constraints) rule.constraints = spec.constraints;
  if (spec.timeoutMs !== undefined) rule.approvalTimeoutMs = spec.timeoutMs;
  if (spec.shadow === true) rule.shadow = true;
  return rule;
}

/** Cache host globs by their text: credentials, passthrough and websocket ask about the same lists. */
function hostMatcher() {
  const cache = new Map<string, HostGlob>();
  return (globs: string[], host: string, port: number, defaultPort: number): boolean => {
    const p = port > 0 ? port : defaultPort;
    for (const g of globs) {
      let m = cache.get(g);
      if (!m) {
        m = hostGlob(g);
        cache.set(g, m);
      }
      if (m.test(host, p)) return true;
    }
    return false;
  };
}

export function compilePolicy(spec: PolicySpec, meta: CompileMeta): CompiledPolicy {
  const issues: PolicyIssue[] = [];
  const rules = spec.rules.map((r, i) => compileRule(r, i, issues));
  if (issues.length > 0) throw new PolicyCompileError(issues);

  const registry: Array<{ name: string; globs: Glob[] }> | null = spec.servers
    ? spec.servers.map(([name, patterns]) => ({ name, globs: patterns.map(serverUrlGlob) }))
    : null;
  const registryEnabled = registry !== null;
  const { decide, candidates } = createDecider({
    rules,
    defaultDecision: spec.default,
    registryEnabled,
    unknownServers: spec.unknownServers,
  });
  const byId = new Map(rules.map((r) => [r.id, r]));
  const hostMatches = hostMatcher();
  const { passthrough, websocket } = spec;

  function resolveServer(url: string): string | null {
    if (!registry) return null;
    const norm = normalizeServerUrl(url);
    if (norm === null) return null;
    for (const s of registry) for (const g of s.globs) if (g.test(norm)) return s.name;
    return null;
  }

  function isToolHidden(server: ServerIdentity, tool: string, principal = ''): boolean {
    if (
      registryEnabled &&
      server.name === null &&
      !server.url.startsWith('stdio:') &&
      spec.unknownServers === 'deny'
    )
      return true;
    const identity: CelContext = {
      args: {},
      tool,
      server: server.name ?? '',
      method: 'tools/call',
      principal,
      run: { id: '', tainted: false, taint_sources: [] },
      tool_annotations: {},
      tool_pinned: false,
    };
    for (const r of candidates(server.name, 'tools/call', tool, undefined)) {
      // A condition on who calls (`principal == "ops"`) is known now; any other may hold or not.
      const known = r.when?.identityOnly ? r.when.evaluate(identity) : null;
      if (known?.ok && !known.value) continue; // never matches this principal's calls
      const unconditional = r.when === null || known?.ok === true;
      // A conditional rule that might allow or hold the call means the tool is usable.
      if (!unconditional && r.decision !== 'deny') return false;
      if (unconditional) return r.decision === 'deny';
    }
    return spec.default === 'deny';
  }

  function describeRules(): RuleSummary[] {
    return rules.map((r) => {
      const s: RuleSummary = { id: r.id, decision: r.decision, explanation: r.explanation };
      const raw = spec.rules[r.index];
      if (raw?.reason !== undefined) s.reason = raw.reason;
      if (r.constraints) s.constraints = r.constraints;
      if (r.approvalTimeoutMs !== undefined) s.approvalTimeoutMs = r.approvalTimeoutMs;
      return s;
    });
  }

  const policy: CompiledPolicy = {
    source: meta.source,
    digest: meta.digest,
    ruleCount: rules.length,
    decide,
    explain(input, decision) {
      const rule = byId.get(decision.rule);
      return rule === undefined ? undefined : explainMatch(rule, input);
    },
    argsConditionFor(input) {
      for (const r of candidates(input.server.name, input.method, input.tool, input.uri))
        if (r.when !== null && readsArgs(r.when.source)) return r.id;
      return undefined;
    },
    resolveServer,
    registryEnabled,
    unknownServers: spec.unknownServers,
    isToolHidden,
    mode: spec.mode,
    toolsList: spec.toolsList,
    denyAs: spec.denyAs,
    credentials: spec.credentials,
    namedHttpsHosts: namedHttpsHosts(spec),
    redact: spec.redact,
    pins: spec.pins,
    approvals: spec.approvals,
    hostMatches,
    isPassthrough: (host, port) => passthrough.length > 0 && hostMatches(passthrough, host, port, port),
    isWebSocketHost: (host, port) => websocket.length > 0 && hostMatches(websocket, host, port, port),
    isolateRequired: spec.isolateRequired,
    describeRules,
  };
  if (spec.approvalTimeoutMs !== undefined) policy.approvalTimeoutMs = spec.approvalTimeoutMs;
  if (spec.auditOtlp !== undefined) policy.auditOtlp = spec.auditOtlp;
  if (spec.serveRoutes !== undefined) policy.serveRoutes = spec.serveRoutes;
  return policy;
}
