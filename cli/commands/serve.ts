import { readFileSync } from 'node:fs';
import {
  AUDIT_SYNC_HELP,
  parseAuditOtlp,
  parseAuditSync,
  parseCommandArgs,
  parseDuration,
  positiveIntFlag,
  wantsHelp,
} from '../args.js';
import { GovError, usageError } from '../../src/errors.js';
import { homePaths } from '../../src/home.js';
import { createLogger, type Logger } from '../../src/log.js';
import { Upstream } from '../../src/transport/http/upstream.js';
import { createHttpHandler } from '../../src/transport/http/http-handler.js';
import { checkCaFile } from '../../src/launcher/ca-bundle.js';
import { openSession } from '../../src/session.js';
import { AUTH_MODES, tokenPrincipal, type AuthMode } from '../../src/gateway/edge-auth.js';
import { parseRouteFlag, routeTo, targetRoute, type Route } from '../../src/gateway/routes.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS } from '../../src/proxy/connection-guard.js';
import { isLoopbackHost } from '../../src/gateway/request-checks.js';
import { SessionTable } from '../../src/gateway/sessions.js';
import { SseReplay } from '../../src/gateway/sse-replay.js';
import { serveTokensPath, TokenVerifier } from '../../src/gateway/serve-tokens.js';
import { Revocations } from '../../src/gateway/revocation.js';
import { startGateway } from '../../src/gateway/gateway-server.js';
import { GLOBAL_BUDGET, PER_SOURCE_BUDGET, RefusalBudget } from '../../src/gateway/refusal-budget.js';
import { createJsonLogger } from '../../src/gateway/json-logger.js';
import { callLine, heldLine } from '../call-lines.js';

const HELP = `usage: gov serve --target URL | --route /prefix=URL... [options]
       gov serve token add NAME | list | rm NAME

A governed MCP gateway: clients connect to gov as if it were the server; every exchange goes
through gov's pipeline (policy, pins, approvals, credentials, redaction, audit) to the target.
See docs/serve.md.

options:
  --target URL               the server to front, served at its own path (https://h/mcp → /mcp)
  --route /prefix=URL        mount a server under a path prefix (repeatable; also serve.routes in gov.yaml)
  --listen HOST:PORT         where to listen (default 127.0.0.1:8787; port 0 picks a free one)
  --tls-cert FILE --tls-key FILE
                             serve HTTPS; plain HTTP is allowed only on loopback
  --insecure-listen          allow plain HTTP on a non-loopback address
  --auth MODE                none | bearer | mtls | bearer_or_mtls (default: none on loopback,
                             else bearer); tokens come from gov serve token add NAME
  --client-ca FILE           CA certificates that client certificates must chain to (mtls)
  --allowed-origins LIST     comma-separated origins a browser may call from (loopback always may)
  --allowed-hosts LIST       Host names served besides loopback names and the listen host
  --session-ttl DUR          a session's longest life (default 24h)
  --session-idle DUR         a session ends after this long without a request (default 30m)
  --protocol-version-mode M  passthrough (default) | strict
  --protocol-version V       with strict: an accepted MCP protocol version (repeatable)
  --sse-replay-max-events N  SSE events kept per stream for Last-Event-ID replay (default 1000; 0: off)
  --sse-replay-max-age DUR   how long they are kept, and a dropped stream waits (default 5m)
  --policy FILE              policy file (default ./gov.yaml, then $GOV_HOME/policy.yaml, then built-in)
  --approval-timeout DUR     deny a held call after DUR (default 120s; a rule's timeout wins)
  --upstream-ca FILE         extra CA certificates for verifying the targets (repeatable)
  --shadow                   decide and record, but forward every call as if allowed
  --drain-timeout DUR        on SIGTERM, how long in-flight requests may finish (default 10s)
  --idle-timeout DUR         close a client connection idle this long (default 5m; never while
                             a request is in flight)
  --max-connections N        client connections served at once; more get 503 (default ${DEFAULT_MAX_CONNECTIONS})
  --log-format FMT           text (default) | json
${AUDIT_SYNC_HELP}
  -h, --help                 this help

signals: SIGTERM/SIGINT drain and seal the audit; SIGHUP reloads the policy file.
`;

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : -1;
  if (!m || port > 65535)
    throw usageError(`invalid --listen '${text}'`, 'use HOST:PORT, e.g. 127.0.0.1:8787 or [::]:8443');
  return { host: (m[1] ?? m[2])!, port };
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(
      `cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function routeOrThrow(r: Route | string, flag: string): Route {
  if (typeof r === 'string')
    throw usageError(`invalid ${flag}: ${r}`, 'e.g. --route /payments=https://mcp.internal/mcp');
  return r;
}

export default async function serve(argv: string[]): Promise<number> {
  if (argv[0] === 'token') return (await import('./serve-token.js')).default(argv.slice(1));
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return 0;
  }
  const { values, positionals } = parseCommandArgs('serve', argv, {
    target: { type: 'string' },
    route: { type: 'string', multiple: true },
    listen: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'insecure-listen': { type: 'boolean' },
    auth: { type: 'string' },
    'client-ca': { type: 'string' },
    'allowed-origins': { type: 'string' },
    'allowed-hosts': { type: 'string' },
    'session-ttl': { type: 'string' },
    'session-idle': { type: 'string' },
    'protocol-version-mode': { type: 'string' },
    'protocol-version': { type: 'string', multiple: true },
    'sse-replay-max-events': { type: 'string' },
    'sse-replay-max-age': { type: 'string' },
    policy: { type: 'string' },
    'approval-timeout': { type: 'string' },
    'upstream-ca': { type: 'string', multiple: true },
    shadow: { type: 'boolean' },
    'drain-timeout': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'max-connections': { type: 'string' },
    'log-format': { type: 'string' },
    'audit-sync': { type: 'string' },
    'audit-otlp': { type: 'string' },
  });
  if (positionals.length)
    throw usageError(`serve: unexpected argument '${positionals[0]}'`, "see 'gov serve --help'");
  const listen = parseListen(values.listen ?? '127.0.0.1:8787');
  const loopback = isLoopbackHost(listen.host);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
    throw usageError(
      '--tls-cert and --tls-key go together',
      'give both, or neither for plain HTTP on loopback',
    );
  const tlsOn = values['tls-cert'] !== undefined;
  if (!tlsOn && !loopback && values['insecure-listen'] !== true)
    throw usageError(
      `refusing plain HTTP on ${listen.host}`,
      'give --tls-cert and --tls-key, listen on 127.0.0.1, or accept the risk with --insecure-listen',
    );
  const auth = (values.auth ?? (loopback ? 'none' : 'bearer')) as AuthMode;
  if (!AUTH_MODES.includes(auth))
    throw usageError(`invalid --auth '${values.auth}'`, `use ${AUTH_MODES.join(', ')}`);
  const mtls = auth === 'mtls' || auth === 'bearer_or_mtls';
  if (mtls && (!tlsOn || values['client-ca'] === undefined))
    throw usageError(
      `--auth ${auth} needs a TLS listener and --client-ca`,
      'add --tls-cert, --tls-key and --client-ca FILE',
    );
  const versionMode = values['protocol-version-mode'] ?? 'passthrough';
  if (versionMode !== 'passthrough' && versionMode !== 'strict')
    throw usageError(`invalid --protocol-version-mode '${versionMode}'`, "use 'passthrough' or 'strict'");
  const versions = values['protocol-version'] ?? [];
  if (versionMode === 'strict' && versions.length === 0)
    throw usageError(
      '--protocol-version-mode strict needs --protocol-version V',
      'e.g. --protocol-version 2025-11-25',
    );
  const logFormat = values['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json')
    throw usageError(`invalid --log-format '${logFormat}'`, "use 'text' or 'json'");
  const duration = (
    flag:
      | 'session-ttl'
      | 'session-idle'
      | 'drain-timeout'
      | 'idle-timeout'
      | 'approval-timeout'
      | 'sse-replay-max-age',
    dflt?: number,
  ) => (values[flag] !== undefined ? parseDuration(values[flag], `--${flag}`) : dflt);
  for (const f of values['upstream-ca'] ?? []) checkCaFile(f, '--upstream-ca');

  const tls = tlsOn
    ? {
        cert: readPem(values['tls-cert']!, '--tls-cert'),
        key: readPem(values['tls-key']!, '--tls-key'),
        ...(values['client-ca'] !== undefined
          ? { clientCa: readPem(values['client-ca'], '--client-ca') }
          : {}),
      }
    : undefined;
  const flagRoutes: Route[] = [];
  if (values.target !== undefined) flagRoutes.push(routeOrThrow(targetRoute(values.target), '--target'));
  for (const r of values.route ?? []) flagRoutes.push(routeOrThrow(parseRouteFlag(r), '--route'));

  const log: Logger = logFormat === 'json' ? createJsonLogger() : createLogger();
  const replayEvents = values['sse-replay-max-events'];
  const replay = new SseReplay(
    {
      maxEvents:
        replayEvents?.trim() === '0'
          ? 0
          : (positiveIntFlag(
              replayEvents,
              '--sse-replay-max-events',
              'use a whole number; 0 turns replay off',
            ) ?? 1000),
      maxAgeMs: duration('sse-replay-max-age', 5 * 60_000)!,
      maxStreams: 10_000,
      maxBytes: 64 * 1024 * 1024,
    },
    (m) => log.debug(m),
  );
  const session = await openSession({
    transport: 'gateway',
    policyPath: values.policy,
    command: ['gov', 'serve', ...argv],
    approvalTimeoutMs: duration('approval-timeout'),
    shadow: values.shadow === true,
    auditSync: parseAuditSync(values['audit-sync']),
    auditOtlp: parseAuditOtlp(values['audit-otlp']),
    log,
  });
  const routes = [...flagRoutes];
  for (const [prefix, url] of Object.entries(session.policy.serveRoutes ?? {}))
    routes.push(routeOrThrow(routeTo(prefix, url), `serve.routes in ${session.policy.source}`));
  const extraCa = [...(values['upstream-ca'] ?? [])];
  if (process.env['NODE_EXTRA_CA_CERTS']) extraCa.push(process.env['NODE_EXTRA_CA_CERTS']);
  const upstream = new Upstream({ extraCaFiles: extraCa, onFirstFailure: (m) => log.warn(m) });
  const offCalls = session.calls.subscribe((e) => {
    const line = callLine(e);
    if (line) log.info(line.replace(/^gov: /, ''));
  });
  const offHeld = session.broker.subscribe((ev) => {
    if (ev.type === 'held') log.info(heldLine(ev.call).replace(/^gov: /, ''));
  });
  let unwatchTokens: (() => void) | undefined;
  try {
    if (routes.length === 0)
      throw usageError(
        'serve: nothing to serve',
        'give --target URL, --route /prefix=URL, or serve.routes in gov.yaml',
      );
    const sessions = new SessionTable({
      ttlMs: duration('session-ttl', 24 * 3_600_000)!,
      idleMs: duration('session-idle', 30 * 60_000)!,
      max: 100_000,
    });
    const revocations = new Revocations({
      broker: session.broker,
      sessions,
      replay,
      onRevoked: ({ principal, held, cut }) =>
        void session.pipeline.alert({
          reason: `${principal} was revoked: ${cut} open request(s) and stream(s) cut, ${held} held call(s) denied`,
          transport: 'gateway',
          principal,
          detail: { held, cut },
        }),
    });
    const tokens =
      auth === 'bearer' || auth === 'bearer_or_mtls'
        ? new TokenVerifier(serveTokensPath(homePaths().home), (name) =>
            revocations.revoke(tokenPrincipal(name)),
          )
        : null;
    unwatchTokens = tokens?.watch((m) => log.warn(m));
    if (tokens && tokens.count === 0)
      log.warn('no bearer tokens yet: every request gets 401 until you run gov serve token add NAME');
    const handler = createHttpHandler({
      pipeline: session.pipeline,
      upstream,
      transport: 'gateway',
    });
    const refusals = new RefusalBudget();
    /** What the refusal budget left out, in one record (docs/serve.md). */
    const summarise = (address: string, suppressed: number) =>
      session.pipeline.alert({
        reason: `${suppressed} further unauthenticated refusal${suppressed === 1 ? '' : 's'} from ${address} suppressed (gov serve records at most ${PER_SOURCE_BUDGET.perSecond}/s per address and ${GLOBAL_BUDGET.perSecond}/s in all)`,
        transport: 'gateway',
        detail: { source: address, suppressed },
      });
    const gateway = await startGateway({
      host: listen.host,
      port: listen.port,
      tls,
      auth,
      tokens,
      routes,
      allowedOrigins: list(values['allowed-origins']),
      allowedHosts: [listen.host, ...list(values['allowed-hosts'])],
      version: { mode: versionMode, versions },
      sessions,
      revocations,
      replay,
      limits: {
        idleTimeoutMs: duration('idle-timeout', DEFAULT_IDLE_TIMEOUT_MS)!,
        maxConnections:
          values['max-connections'] !== undefined
            ? positiveIntFlag(values['max-connections'], '--max-connections', 'use a positive integer')!
            : DEFAULT_MAX_CONNECTIONS,
      },
      handler,
      onRefused: (r) => {
        if (r.status === 0) return log.debug(r.reason);
        if (!r.authenticated) {
          // A client without a token must not fill the disk through the audit log.
          const v = refusals.admit(r.source);
          if (!v.record) return;
          if (v.suppressed > 0) void summarise(v.from, v.suppressed);
        }
        void session.pipeline.alert({
          reason: `gov serve refused a request (${r.status}): ${r.reason}`,
          transport: 'gateway',
          principal: r.principal,
          detail: {
            status: r.status,
            path: r.path.slice(0, 512),
            ...(r.authenticated ? {} : { source: r.source }),
          },
        });
      },
      onError: (m) => log.warn(m),
    });
    upstream.warm();
    const mounts = routes.map((r) => `${r.prefix} → ${r.url}`).join(', ');
    log.info(
      `serving ${gateway.url} (auth ${auth}; ${mounts}), run ${session.run}, policy ${session.policy.source}`,
    );

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const onHup = () => {
        if (!session.reloadPolicy()) log.warn(`SIGHUP: no policy file to reload (${session.policy.source})`);
      };
      process.on('SIGHUP', onHup);
      const stop = (s: NodeJS.Signals) => {
        process.off('SIGHUP', onHup);
        resolve(s);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    log.info(`${signal}: draining (no new connections; held calls are denied)`);
    await gateway.drain(duration('drain-timeout', 10_000)!, () =>
      session.broker.close('gov serve is shutting down'),
    );
    replay.stopAll();
    await Promise.all(refusals.drain().map((d) => summarise(d.address, d.suppressed)));
    unwatchTokens?.();
    offCalls();
    offHeld();
    await upstream.close();
    await session.close({ signal });
    log.info('stopped; audit sealed');
    return 0;
  } catch (err) {
    unwatchTokens?.();
    offCalls();
    offHeld();
    await upstream.close();
    await session.close({ error: err instanceof GovError ? err.message : 'failed' });
    throw err;
  }
}
