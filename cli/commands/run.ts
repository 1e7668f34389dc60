import { dirname, join, resolve, sep } from 'node:path';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  AUDIT_SYNC_HELP,
  parseAuditOtlp,
  parseAuditSync,
  parseCommandArgs,
  durationFlag,
  positiveIntFlag,
  wantsHelp,
} from '../args.js';
import { usageError } from '../../src/errors.js';
import { homePaths } from '../../src/home.js';
import { installPath } from '../../src/install-path.js';
import { createLogger } from '../../src/log.js';
import { loadOrCreateCa } from '../../src/proxy/ca.js';
import { LeafStore } from '../../src/proxy/leaf-store.js';
import { LeafCertCache } from '../../src/proxy/leaf-cert-cache.js';
import { Upstream } from '../../src/transport/http/upstream.js';
import { startProxy } from '../../src/proxy/server.js';
import { createHttpHandler } from '../../src/transport/http/http-handler.js';
import { createUpgradeGate } from '../../src/pipeline/upgrade-gate.js';
import { DEFAULT_MAX_CONNECTIONS } from '../../src/proxy/connection-guard.js';
import { buildChildEnv } from '../../src/launcher/child-env.js';
import { checkCaFile, isCaBundleFile, writeTrustFiles } from '../../src/launcher/ca-bundle.js';
import { spawnChild, type SpawnedChild } from '../../src/launcher/spawn-child.js';
import { spawnInPty } from '../../src/launcher/spawn-pty.js';
import { RecentLog, type RecentCallLog } from '../ui/recent-log.js';
import type { PinAlert } from '../../src/safety/pins-config.js';
import { requireIsolationTools, requireNamespaces } from '../../src/isolation/availability.js';
import { planSandbox } from '../../src/isolation/sandbox.js';
import { openSession } from '../../src/session.js';
import { batchedLines, callLine, heldLine } from '../call-lines.js';
import { preferLiveTerminal } from '../ui/interactive.js';
import { promptHidden } from '../../vault/tty-prompt.js';

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
  --isolate                  Linux: the proxy is the child's only way out; gov's state and process
                             are out of its reach (see docs/isolation.md)
  --capture-port N           with --isolate: also govern direct TCP connections to port N
                             (80 and 443 always are; repeatable)
  --max-body BYTES           largest request body examined (default 4194304)
  --idle-timeout DUR         close a client connection or tunnel idle this long (default 5m);
                             never while a request is in flight (held call, SSE stream)
  --max-connections N        client connections served at once; more get 503 (default ${DEFAULT_MAX_CONNECTIONS})
${AUDIT_SYNC_HELP}
  --quiet                    print nothing but errors and held-call hints
  -h, --help                 this help
`;

const PRELOAD = installPath('preload', 'node-proxy.cjs');
/** How long after the child's start the first call's code is loaded (see warmUpSoon). */
const WARM_UP_DELAY_MS = 250;

/** The terminal UI's code (its own bundle, dist/bundle/ui): about 0.4 s to load. */
const loadPanel = () => Promise.all([import('../ui/run-tui.js'), import('../ui/pty-tui.js')]);

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
    isolate: { type: 'boolean' },
    'capture-port': { type: 'string', multiple: true },
    'max-body': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'max-connections': { type: 'string' },
    'audit-sync': { type: 'string' },
    'audit-otlp': { type: 'string' },
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
  const bodyLimit = positiveIntFlag(values['max-body'], '--max-body', 'use a byte count');
  const maxConnections = positiveIntFlag(
    values['max-connections'],
    '--max-connections',
    'use a positive integer',
  );
  const idleTimeoutMs = durationFlag(values['idle-timeout'], '--idle-timeout');
  const approvalTimeoutMs = durationFlag(values['approval-timeout'], '--approval-timeout');
  for (const f of values['upstream-ca'] ?? []) checkCaFile(f, '--upstream-ca');
  const auditSync = parseAuditSync(values['audit-sync']);
  const isolate = values.isolate === true;
  const capturePorts = (values['capture-port'] ?? []).map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw usageError(`invalid --capture-port '${p}'`, 'use a TCP port 1-65535');
    return n;
  });
  if (capturePorts.length && !isolate)
    throw usageError('--capture-port needs --isolate', 'add --isolate, or drop --capture-port');
  // Before anything starts: no silent fallback to an unisolated child.
  const isolationTools = isolate ? requireIsolationTools() : undefined;
  const quiet = values.quiet === true;
  // Once the TUI is up, gov's own lines (reloads, taint) go above its live panel.
  let printAbovePanel: ((line: string) => void) | null = null;
  const log = createLogger({
    quiet,
    write: (line) => (printAbovePanel ? printAbovePanel(line) : process.stderr.write(line)),
  });
  const tui = !values['no-tui'] && process.stdin.isTTY === true && process.stdout.isTTY === true;

  const paths = homePaths();
  // The sandbox's init builds the namespaces while gov opens its session and proxy; it starts
  // no child until it is configured below, and dies with gov.
  const sandbox = isolationTools
    ? planSandbox({ home: paths.home, capturePorts, tools: isolationTools })
    : undefined;
  const sandboxInit = sandbox?.start(tui ? 'pipe' : 'inherit');
  sandboxInit?.catch(() => undefined); // awaited where the child is started
  if (isolationTools) {
    // The probe runs while the init starts (which dies with gov when the probe fails).
    try {
      requireNamespaces(isolationTools);
    } catch (err) {
      sandbox?.cleanup();
      throw err;
    }
  }
  const session = await openSession({
    transport: 'http',
    policyPath: values.policy,
    command: [command, ...args],
    approvalTimeoutMs,
    shadow: values.shadow === true,
    auditSync,
    isolated: isolate,
    auditOtlp: parseAuditOtlp(values['audit-otlp']),
    log,
    prompt: process.stdin.isTTY ? () => promptHidden('gov: vault passphrase: ', process.stdin) : undefined,
  }).catch((err: unknown) => {
    sandbox?.cleanup();
    throw err;
  });
  const cleanups: Array<() => Promise<void> | void> = [];
  if (sandbox) cleanups.push(sandbox.cleanup);
  const teardown = async (detail: Record<string, string | number | boolean>) => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    await session.close(detail);
  };

  try {
    const ca = loadOrCreateCa(paths);
    const leafCerts = new LeafCertCache(ca, new LeafStore(paths.caLeaves, ca.certPem));
    const extraCa = [...(values['upstream-ca'] ?? [])];
    if (process.env['NODE_EXTRA_CA_CERTS']) extraCa.push(process.env['NODE_EXTRA_CA_CERTS']);
    const upstream = new Upstream({ extraCaFiles: extraCa, onFirstFailure: (m) => log.warn(m) });
    cleanups.push(() => upstream.close());
    const handler = createHttpHandler({
      pipeline: session.pipeline,
      upstream,
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
      upgradeGate: createUpgradeGate({
        pipeline: session.pipeline,
        isWebSocketHost: (h, p) => session.policy.isWebSocketHost(h, p),
      }),
      limits: {
        ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
        ...(maxConnections !== undefined ? { maxConnections } : {}),
      },
      upstreamCa: extraCa,
      ...(sandbox ? { unixSocket: sandbox.proxySocket } : {}),
      log,
      onTlsTunnel: (t) => upstream.preconnect({ scheme: 'https', ...t }),
      onRefused: (r) =>
        void session.pipeline.alert({
          reason: r.reason,
          transport: 'http',
          detail: { status: r.status, target: r.target },
        }),
    });
    cleanups.push(() => proxy.close());
    await leafCerts.ready();
    // What the first call needs but the child's start does not (undici, the upstream TLS
    // context, the X.509 code: about 0.2 s of CPU) is prepared once the child has had time to
    // start: done at once, on a busy 2-core machine it slowed a Node child's start by
    // 0.1-0.2 s (docs/performance.md). A call that comes sooner loads what it needs itself.
    const warmUpSoon = () => {
      const timer = setTimeout(() => {
        upstream.warm();
        leafCerts.warm(session.policy.namedHttpsHosts);
      }, WARM_UP_DELAY_MS);
      timer.unref();
      cleanups.push(() => clearTimeout(timer));
    };

    // GOV_HOME is hidden from an isolated child: its trust files live in the sandbox's directory.
    if (sandbox) writeFileSync(join(sandbox.dir, 'ca.pem'), ca.certPem, { mode: 0o644 });
    const trust = writeTrustFiles({
      dir: sandbox?.dir ?? paths.ca,
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
      isCaBundleFile,
    });

    if (!quiet && !tui)
      log.info(
        `run ${session.run}: proxy on 127.0.0.1:${proxy.port}, policy ${session.policy.source}${sandbox ? ', isolated' : ''}`,
      );
    if (!tui) {
      const lines = batchedLines();
      cleanups.push(() => lines.close()); // runs after the unsubscribes below (reverse order)
      if (!quiet) {
        const offCalls = session.calls.subscribe((e) => {
          const line = callLine(e);
          if (line) lines.write(line);
        });
        cleanups.push(offCalls);
      }
      // Held calls are announced even with --quiet: without the id the agent seems to hang.
      const offHeld = session.broker.subscribe((ev) => {
        if (ev.type === 'held') lines.write(heldLine(ev.call));
      });
      cleanups.push(offHeld);
    }

    // The panel's call log starts before the child exists, so the child's first calls reach
    // the screen however fast it runs. Its code (about 0.4 s) is loaded once a child on a
    // pseudo-terminal has started (its first output is kept until the panel is up).
    let recentCalls: RecentCallLog | undefined;
    let pinAlerts: RecentLog<PinAlert> | undefined;
    if (tui) {
      // The panel is a live approval channel for `approvals.when_unattended`.
      cleanups.push(session.broker.attachChannel('tui'));
      // The child's environment was built above and keeps CI as it was.
      preferLiveTerminal();
      recentCalls = new RecentLog(session.calls);
      pinAlerts = new RecentLog(session.pinAlerts, 3);
      cleanups.push(recentCalls.close, pinAlerts.close);
    }

    // Testing knob: GOV_NO_PTY=1 takes the pipe path that platforms without node-pty take.
    if (!sandbox && recentCalls && process.env['GOV_NO_PTY'] !== '1') {
      // An interactive agent gets a real terminal (without node-pty here: pipes, below).
      const ptyChild = await spawnInPty({
        command,
        args,
        env,
        cols: process.stdout.columns || 80,
        rows: process.stdout.rows || 24,
      });
      if (ptyChild) {
        warmUpSoon();
        cleanups.push(() => ptyChild.dispose());
        // node-pty drops output nobody listens to: kept here until the panel takes over.
        const earlier: string[] = [];
        const keep = ptyChild.pty.onData((data) => void earlier.push(data));
        const [, ptyTui] = await loadPanel().finally(() => keep.dispose());
        const screen = ptyTui.mountPtyTui({
          broker: session.broker,
          calls: recentCalls,
          ...(pinAlerts ? { pinAlerts } : {}),
          pty: ptyChild.pty,
          earlier,
        });
        cleanups.push(() => screen.unmount());
        const code = await ptyChild.exited;
        await teardown({ exit_code: code });
        return code;
      }
    }

    // The pipe path takes the panel's code before the child starts: Node discards the output
    // of a child's pipes that nobody reads by the time it exits.
    const runTui = tui ? (await loadPanel())[0] : undefined;
    const stdio = tui ? 'pipe' : 'inherit';
    let child: SpawnedChild;
    if (sandbox && sandboxInit) {
      const init = await sandboxInit;
      // Taken over before configure: the sandbox starts the command as soon as it has the
      // configuration, and from then on a signal to gov must reach the command, not end gov.
      child = await spawnChild({
        command,
        args,
        env,
        stdio,
        started: init,
        signalTarget: (pid) => sandbox.signalPid(pid),
      });
      const controlDir = dirname(session.control.socket);
      await sandbox.configure(init, {
        extraHiddenDirs: controlDir.startsWith(resolve(paths.home) + sep) ? [] : [controlDir],
        readOnlyFiles: session.policyFile === null ? [] : [session.policyFile],
        proxyPort: proxy.port,
        token,
        caBundle: trust.bundle,
        command,
        args,
        env,
        newSession: tui,
        accept: (listener) => proxy.acceptFrom(listener),
      });
    } else child = await spawnChild({ command, args, env, stdio });
    warmUpSoon();
    cleanups.push(() => child.dispose());
    let ui: import('../ui/run-tui.js').RunTui | undefined;
    if (runTui && recentCalls && child.child.stdout && child.child.stderr && child.child.stdin) {
      const mounted = runTui.mountRunTui({
        broker: session.broker,
        calls: recentCalls,
        ...(pinAlerts ? { pinAlerts } : {}),
        child: { stdout: child.child.stdout, stderr: child.child.stderr, stdin: child.child.stdin },
        onInterrupt: () => child.child.kill('SIGINT'),
      });
      ui = mounted;
      printAbovePanel = (line) => mounted.print(line);
      cleanups.push(() => {
        printAbovePanel = null;
        mounted.unmount();
      });
    }
    const code = await child.exited;
    // 'exit' can come before the child's last output was read from its pipes.
    await ui?.drained();
    await teardown({ exit_code: code });
    return code;
  } catch (err) {
    await teardown({ error: (err as Error).message ?? 'failed' });
    throw err;
  }
}
