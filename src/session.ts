import { existsSync } from 'node:fs';
import { homePaths, ensureDir } from './home.js';
import { GovError } from './errors.js';
import { findPolicyPath, loadPolicy } from './policy/load.js';
import { watchPolicy } from './policy/watch.js';
import { ConstraintTracker } from './policy/constraints.js';
import type { CompiledPolicy } from './policy/compiled.js';
import type { AuditSync, FileAuditSink } from './audit/sink.js';
import { openRunAudit } from './audit/run-audit.js';
import { openAuditSigner } from './audit/signing-key.js';
import { otlpSecretNames, resolveOtlpTarget } from './audit/otlp-config.js';
import { digestArgs } from './audit/canonical.js';
import { newRunId } from './audit/run-id.js';
import { ApprovalBroker } from './approvals/broker.js';
import { startControlServer, type ControlServer } from './approvals/control-socket.js';
import { notifySecretNames, resolveNotifyTargets, startNotifier } from './approvals/notify.js';
import { createRedactor } from './safety/redact.js';
import { ToolPins } from './safety/tool-pins.js';
import type { PinAlert } from './safety/pins-config.js';
import { loadDeclaredPins } from './safety/declared-pins.js';
import type { PromptPurpose } from '../vault/store.js';
import type { CredentialInjector } from '../vault/inject.js';
import { Pipeline } from './pipeline.js';
import type { VaultScan } from './pipeline/stages.js';
import { canSitOutsideStrings } from './pipeline/bare-values.js';
import type { GovernedCallEvent, Transport } from './types.js';
import type { Logger } from './log.js';

export interface SessionOptions {
  transport: Transport;
  policyPath?: string | undefined;
  command: string[];
  approvalTimeoutMs?: number | undefined;
  /** `--shadow`: decisions are recorded (shadow_decision) and every call is forwarded. */
  shadow?: boolean | undefined;
  /** `--audit-sync`: when decision records reach the disk (AuditSync; default 'interval'). */
  auditSync?: AuditSync | undefined;
  /** `--audit-otlp URL`: ship audit records there (wins over gov.yaml's audit.export.otlp). */
  auditOtlp?: string | undefined;
  log: Logger;
  /** Asked for the vault passphrase when neither the keyring nor GOV_VAULT_PASSPHRASE has it. */
  prompt?: ((purpose: PromptPurpose) => Promise<string>) | undefined;
  env?: NodeJS.ProcessEnv;
  /** `gov run` only: whether the child runs isolated (recorded; `isolate: required` refuses false). */
  isolated?: boolean | undefined;
}

type Listener = (e: GovernedCallEvent) => void;

/**
 * Everything one governed run needs, built once: policy, audit sink, approvals broker and its
 * control socket, vault-backed credentials and redaction, and the pipeline over them.
 * `gov run` and `gov mcp wrap` both start here, so both feed the same pipeline.
 */
export interface GovernedSession {
  run: string;
  policy: CompiledPolicy;
  pipeline: Pipeline;
  broker: ApprovalBroker;
  audit: FileAuditSink;
  control: ControlServer;
  credentials: CredentialInjector | undefined;
  calls: { subscribe(l: Listener): () => void };
  /** Tool pin alerts as they are raised (each is also recorded in the audit by the pipeline). */
  pinAlerts: { subscribe(l: (a: PinAlert) => void): () => void };
  /** The policy file loaded (and watched for live reload); null for the built-in default. */
  policyFile: string | null;
  /** Re-read the policy file now (SIGHUP); an invalid file keeps the policy in force. False without a file. */
  reloadPolicy(): boolean;
  close(detail?: Record<string, string | number | boolean>): Promise<void>;
}

/** Shorter vault values are not looked for in relayed bytes (see vaultScanFor). */
const MIN_RELAYED_VALUE_LENGTH = 8;

/**
 * Every vault value gov loaded — a credential it injects, or one it only redacts — for the
 * bytes it relays unparsed (whatever `redact:` says, gov never hands its own secrets back).
 * Relayed bodies are read as latin1, so a value is also looked for as its UTF-8 bytes (when it
 * has non-ASCII characters) and its UTF-16 and UTF-32 bytes read that way (each also in upper
 * and lower case, as every value is: see vaultValueForms).
 */
function vaultScanFor(secrets: Map<string, string>): VaultScan | undefined {
  const values = new Map<string, string>();
  for (const [name, v] of secrets) {
    // Relayed bodies may be binary: a short value would match by chance and corrupt a download.
    if (v.length < MIN_RELAYED_VALUE_LENGTH) continue;
    values.set(name, v);
    const bytes = Buffer.from(v, 'utf8').toString('latin1');
    if (bytes !== v) values.set(`${name} (utf-8 bytes)`, bytes);
    // A body in UTF-16 (either byte order) carries the value as these bytes.
    const le = Buffer.from(v, 'utf16le');
    values.set(`${name} (utf-16le)`, le.toString('latin1'));
    values.set(`${name} (utf-16be)`, Buffer.from(le).swap16().toString('latin1'));
    // And in UTF-32 (either byte order): four bytes per code point.
    const cps = Array.from(v, (c) => c.codePointAt(0)!);
    const be32 = Buffer.alloc(cps.length * 4);
    cps.forEach((cp, i) => be32.writeUInt32BE(cp, i * 4));
    values.set(`${name} (utf-32be)`, be32.toString('latin1'));
    values.set(`${name} (utf-32le)`, Buffer.from(be32).swap32().toString('latin1'));
  }
  if (values.size === 0) return undefined;
  return createRedactor({ vaultValues: values, vault: true, secrets: false });
}

export async function openSession(o: SessionOptions): Promise<GovernedSession> {
  const env = o.env ?? process.env;
  const paths = homePaths();
  ensureDir(paths.home);
  const policyFile = findPolicyPath({
    ...(o.policyPath !== undefined ? { explicit: o.policyPath } : {}),
    cwd: process.cwd(),
    home: paths.home,
  });
  const policy = loadPolicy(policyFile);
  if (o.isolated === false && policy.isolateRequired)
    throw new GovError('policy', `${policy.source} says 'isolate: required'; refusing an unisolated run`, {
      hint: 'run it with gov run --isolate',
    });

  // The vault is opened only when something needs it: bound credentials, or values to redact.
  // Loaded only then: libsodium's WASM and the keyring binding cost tens of MB of memory.
  const otlpSpec =
    o.auditOtlp !== undefined
      ? { endpoint: o.auditOtlp, headers: {}, protocol: 'http/protobuf' as const }
      : policy.auditOtlp;
  let secrets = new Map<string, string>();
  const headerSecrets =
    (otlpSpec !== undefined && otlpSecretNames(otlpSpec).length > 0) ||
    notifySecretNames(policy.approvals.notify).length > 0;
  if (policy.credentials.length > 0 || headerSecrets || (policy.redact.vault && existsSync(paths.vault))) {
    const { openVault, readVaultFile } = await import('../vault/store.js');
    // A run that needs no vault value but to redact must not be blocked by a locked
    // passphrase vault with nobody to ask. Say so, and run without them.
    const canAsk = o.prompt !== undefined || Boolean(env['GOV_VAULT_PASSPHRASE']);
    const redactOnly = policy.credentials.length === 0 && !headerSecrets;
    if (redactOnly && !canAsk && readVaultFile(paths.vault)?.kdf.kind === 'argon2id') {
      o.log.warn(
        'vault values are not redacted in this run: the vault needs a passphrase and there is no terminal — set GOV_VAULT_PASSPHRASE to redact them',
      );
    } else {
      const vault = await openVault({ home: paths.home, env, ...(o.prompt ? { prompt: o.prompt } : {}) });
      secrets = vault.values();
    }
  }
  let credentials: CredentialInjector | undefined;
  if (policy.credentials.length > 0) {
    const { createCredentialInjector } = await import('../vault/inject.js');
    credentials = createCredentialInjector({
      bindings: policy.credentials,
      secrets,
      hostMatches: policy.hostMatches,
    });
    const plain = credentials.plainHttp();
    if (o.transport === 'http' && plain.length > 0)
      o.log.warn(
        `credentials are sent over plain HTTP (scheme: http), readable by anyone on the path: ${plain.join('; ')}`,
      );
  }
  const redactor = createRedactor({
    vaultValues: policy.redact.vault ? secrets : new Map<string, string>(),
    vault: policy.redact.vault,
    secrets: policy.redact.secrets,
  });

  const pins = new ToolPins(paths.pins, {
    onChange: policy.pins.onChange,
    onPoison: policy.pins.onPoison,
    changedTools: policy.pins.changedTools,
    declared: loadDeclaredPins(policy.pins, policy.source),
  });

  const notifyTargets = resolveNotifyTargets(policy.approvals.notify, secrets);

  const run = newRunId();
  ensureDir(paths.audit);
  const signer = await openAuditSigner({ home: paths.home, env });
  const vaultScan = vaultScanFor(secrets);
  // OpenTelemetry (~0.3 s to load) only when an OTLP target is configured.
  const exporter = otlpSpec
    ? new (await import('./audit/otlp-export.js')).AuditOtlpExporter(resolveOtlpTarget(otlpSpec, secrets), {
        // The collector's own words may echo the headers gov sent it (vault values resolved).
        onFailure: (m) => o.log.warn(vaultScan ? vaultScan.redactString(m).text : m),
      })
    : undefined;
  const runAudit = await openRunAudit({
    dir: paths.audit,
    run,
    sync: o.auditSync ?? 'interval',
    signer,
    onRecord: exporter && ((r) => exporter.push(r)),
    start: {
      kind: 'run_start',
      transport: o.transport,
      policy_digest: policy.digest,
      detail: {
        policy: policy.source,
        command: o.command.join(' ').slice(0, 4096),
        pid: process.pid,
        audit_sync: o.auditSync ?? 'interval',
        ...(o.isolated !== undefined ? { isolated: o.isolated } : {}),
        mode: o.shadow === true ? 'shadow' : policy.mode,
      },
    },
  });
  const audit = runAudit.sink;

  const broker = new ApprovalBroker();
  let control: ControlServer;
  try {
    control = await startControlServer({
      home: paths.home,
      run,
      broker,
      command: o.command,
      policySource: policy.source,
      auditHead: (nonce) => runAudit.liveHead(nonce),
      pinAlerts: { subscribe: (l) => pins.onAlert(l) },
    });
  } catch (err) {
    await runAudit.seal({ error: 'control socket failed' }).catch(() => undefined);
    throw new GovError('approvals', `cannot start the approvals control socket: ${(err as Error).message}`);
  }

  // Held calls are announced to the notification hooks; each send is audited, never in the way.
  const stopNotifier = startNotifier({
    targets: notifyTargets,
    broker,
    record: (n) => {
      if (!n.ok) o.log.warn(`approval notification to ${n.origin} failed: ${n.error ?? 'unknown error'}`);
      audit
        .append({ kind: 'notify', status: n.ok ? 'sent' : 'failed', detail: { ...n } }, { sync: false })
        .catch((err: unknown) => o.log.warn(`audit notify record failed: ${(err as Error).message}`));
    },
  });

  const listeners = new Set<Listener>();
  const pipeline = new Pipeline({
    run,
    policy,
    constraints: new ConstraintTracker(),
    approvals: broker,
    audit,
    redactor,
    vaultScan,
    bareValueScan: vaultScanFor(new Map([...secrets].filter(([, v]) => canSitOutsideStrings(v)))),
    credentials,
    pins,
    digestArgs: (a) => digestArgs(a),
    approvalTimeoutMs: o.approvalTimeoutMs,
    shadow: o.shadow,
    onEvent: (e) => {
      for (const l of listeners) l(e);
    },
    log: o.log,
  });

  const session: GovernedSession = {
    run,
    policy,
    pipeline,
    broker,
    audit,
    control,
    credentials,
    calls: {
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
    pinAlerts: { subscribe: (l) => pins.onAlert(l) },
    policyFile,
    reloadPolicy() {
      watcher?.reload();
      return watcher !== undefined;
    },
    async close(detail = {}) {
      if (closed) return;
      closed = true;
      watcher?.close();
      stopNotifier();
      broker.close('the run ended');
      await control.close().catch(() => undefined);
      // The seal counts what reached the collector. A healthy one takes the run's last records
      // in far less than 0.5 s; a down one must not hold up the seal (an MCP client may kill gov
      // soon after closing its stdin), nor the exit by more than 2 s in all.
      const exportDeadline = Date.now() + 2000;
      await exporter?.flush(500, { whileReachable: true });
      const counts = exporter?.counts();
      await runAudit
        .seal({ ...detail, ...(counts ? { export: { ...counts } } : {}) })
        .catch((err: unknown) => o.log.warn(`could not seal the audit: ${(err as Error).message}`));
      if (counts && counts.pending + counts.dropped > 0)
        o.log.warn(
          `audit export: ${counts.shipped} records shipped, ${counts.pending + 1} not shipped, ${counts.dropped} dropped when the run ended — they are in the local audit; backfill with 'gov audit export --otlp URL'`,
        );
      await exporter?.flush(Math.max(0, exportDeadline - Date.now()), { whileReachable: true });
      await exporter?.shutdown(Math.max(0, exportDeadline - Date.now()));
    },
  };
  let closed = false;
  // Live reload (rules, default, mode, timeouts): credentials, output redaction and
  // passthrough were wired at start-up and change only with a restart.
  const watcher =
    policyFile === null
      ? undefined
      : watchPolicy({
          path: policyFile,
          digest: policy.digest,
          onReload: (next) => {
            const old = session.policy.digest;
            session.policy = next;
            pipeline.setPolicy(next);
            o.log.info(`policy reloaded from ${next.source} (${next.digest.slice(0, 19)}…)`);
            audit
              .append({
                kind: 'policy_reload',
                policy_digest: next.digest,
                detail: { policy: next.source, old_policy_digest: old },
              })
              .catch((err: unknown) =>
                o.log.warn(`audit policy_reload record failed: ${(err as Error).message}`),
              );
          },
          onInvalid: (problem) => o.log.warn(`policy not reloaded: ${problem} — keeping the previous policy`),
        });
  return session;
}
