import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AUDIT_SYNC_HELP, parseAuditSync, parseCommandArgs, parseDuration, wantsHelp } from '../args.js';
import { usageError } from '../../src/errors.js';
import { homePaths } from '../../src/home.js';
import { createLogger } from '../../src/log.js';
import { loadOrCreateCa } from '../../src/proxy/ca.js';
import { LeafCertCache } from '../../src/proxy/leaf-cert-cache.js';
import { Upstream } from '../../src/proxy/upstream.js';
import { startProxy } from '../../src/proxy/server.js';
import { createHttpHandler } from '../../src/pipeline/http-handler.js';
import { buildChildEnv } from '../../src/launcher/child-env.js';
import { writeTrustFiles } from '../../src/launcher/ca-bundle.js';
import { spawnChild } from '../../src/launcher/spawn-child.js';
import { openSession } from '../../src/session.js';
import { callLine, heldLine } from '../call-lines.js';
import { promptHidden } from '../prompt.js';
import { preferLiveTerminal } from '../ui/interactive.js';

const HELP = `usage: gov run [options] -- <command> [args...]

Run a command behind gov's governed proxy. Every HTTP(S) request it makes goes through gov;
MCP tool calls are decided by policy, held for approval, and recorded in the audit trail.

options:
  --policy FILE              policy file (default ./gov.yaml, then $GOV_HOME/policy.yaml, then built-in)
  --port N                   proxy port on 127.0.0.1 (default: random)
  --no-tui                   no terminal panel; one line per governed call on stderr
  --approval-timeout DUR     deny a held call after DUR (default 120s; a rule's timeout wins)
  --upstream-ca FILE         extra CA certificates for verifying upstream servers (repeatable)
  --shadow                   shadow mode: decide and record (shadow_decision), but forward
                             every call as if allowed; never hold (see docs/policy.md)
  --keep-no-proxy            keep the inherited NO_PROXY (lets the child bypass governance)
  --max-body BYTES           largest request body examined (default 4194304)
${AUDIT_SYNC_HELP}
  --quiet                    print nothing but errors
  -h, --help                 this help
`;

const PRELOAD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'preload', 'fetch-proxy.cjs');

export default async function run(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return 0;
  }
  const { values, positionals, rest } = parseCommandArgs('run', argv, {
    policy: { type: 'string' },
    port: { type: 'string' },
    'no-tui': { type: 'boolean' },
    'approval-timeout': { type: 'string' },
    shadow: { type: 'boolean' },
    'upstream-ca': { type: 'string', multiple: true },
    'keep-no-proxy': { type: 'boolean' },
    'max-body': { type: 'string' },
    'audit-sync': { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (positionals.length)
    throw usageError(`run: unexpected argument '${positionals[0]}'`, 'put the command after --');
  const [command, ...args] = rest;
  if (!command) throw usageError('run: no command given', 'usage: gov run [options] -- <command> [args...]');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw usageError(`invalid --port '${values.port}'`, 'use 0-65535');
  }
  let bodyLimit: number | undefined;
  if (values['max-body'] !== undefined) {
    bodyLimit = Number(values['max-body']);
    if (!Number.isInteger(bodyLimit) || bodyLimit < 1)
      throw usageError(`invalid --max-body '${values['max-body']}'`, 'use a byte count');
  }
  const approvalTimeoutMs =
    values['approval-timeout'] !== undefined
      ? parseDuration(values['approval-timeout'], '--approval-timeout')
      : undefined;
  const auditSync = parseAuditSync(values['audit-sync']);
  const quiet = values.quiet === true;
  // Once the TUI is up, gov's own lines (reloads, taint) go above its live panel.
  let printAbovePanel: ((line: string) => void) | null = null;
  const log = createLogger({
    quiet,
    write: (line) => (printAbovePanel ? printAbovePanel(line) : process.stderr.write(line)),
  });
  const tui = !values['no-tui'] && process.stdin.isTTY === true && process.stdout.isTTY === true;

  const paths = homePaths();
  const session = await openSession({
    transport: 'http',
    policyPath: values.policy,
    command: [command, ...args],
    approvalTimeoutMs,
    shadow: values.shadow === true,
    auditSync,
    log,
    prompt: process.stdin.isTTY ? () => promptHidden('gov: vault passphrase: ') : undefined,
  });
  const cleanups: Array<() => Promise<void> | void> = [];
  const teardown = async (detail: Record<string, string | number | boolean>) => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    await session.close(detail);
  };

  try {
    const ca = loadOrCreateCa(paths);
    const leafCerts = new LeafCertCache(ca);
    const extraCa = [...(values['upstream-ca'] ?? [])];
    if (process.env['NODE_EXTRA_CA_CERTS']) extraCa.push(process.env['NODE_EXTRA_CA_CERTS']);
    const upstream = new Upstream({ extraCaFiles: extraCa });
    cleanups.push(() => upstream.close());
    const handler = createHttpHandler({
      pipeline: session.pipeline,
      upstream,
      credentials: session.credentials,
      ...(bodyLimit !== undefined ? { bodyLimit } : {}),
      // Testing knob: the interval of "awaiting approval" progress heartbeats.
      ...(process.env['GOV_HEARTBEAT_MS'] ? { heartbeatMs: Number(process.env['GOV_HEARTBEAT_MS']) } : {}),
    });
    const token = randomBytes(24).toString('hex');
    const proxy = await startProxy({
      token,
      ...(port !== undefined ? { port } : {}),
      leafCerts,
      handler,
      isPassthrough: (h, p) => session.policy.isPassthrough(h, p),
      upstreamCa: extraCa,
      log,
    });
    cleanups.push(() => proxy.close());
    await leafCerts.ready();

    const trust = writeTrustFiles({
      dir: paths.ca,
      run: session.run,
      govCaPem: ca.certPem,
      inheritedNodeExtra: process.env['NODE_EXTRA_CA_CERTS'],
    });
    cleanups.push(trust.cleanup);
    const env = buildChildEnv({
      parent: process.env,
      proxyUrl: proxy.url(token),
      caBundlePath: trust.bundle,
      nodeExtraCaPath: trust.nodeExtra,
      preloadPath: PRELOAD,
      runId: session.run,
      keepNoProxy: values['keep-no-proxy'] === true,
      placeholders: session.credentials?.placeholders() ?? {},
    });

    if (!quiet && !tui)
      log.info(`run ${session.run}: proxy on 127.0.0.1:${proxy.port}, policy ${session.policy.source}`);
    if (!tui && !quiet) {
      const offCalls = session.calls.subscribe((e) => {
        const line = callLine(e);
        if (line) process.stderr.write(line + '\n');
      });
      const offHeld = session.broker.subscribe((ev) => {
        if (ev.type === 'held') process.stderr.write(heldLine(ev.call) + '\n');
      });
      cleanups.push(offCalls, offHeld);
    }

    const child = await spawnChild({ command, args, env, stdio: tui ? 'pipe' : 'inherit' });
    cleanups.push(() => child.dispose());
    if (tui && child.child.stdout && child.child.stderr && child.child.stdin) {
      // The child's environment was built above and keeps CI as it was.
      preferLiveTerminal();
      const { mountRunTui } = await import('../ui/run-tui.js');
      const ui = mountRunTui({
        broker: session.broker,
        calls: session.calls,
        child: { stdout: child.child.stdout, stderr: child.child.stderr, stdin: child.child.stdin },
        onInterrupt: () => child.child.kill('SIGINT'),
      });
      printAbovePanel = (line) => ui.print(line);
      cleanups.push(() => {
        printAbovePanel = null;
        ui.unmount();
      });
    }
    const code = await child.exited;
    await teardown({ exit_code: code });
    return code;
  } catch (err) {
    await teardown({ error: (err as Error).message ?? 'failed' });
    throw err;
  }
}
