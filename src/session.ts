import { existsSync } from 'node:fs';
import { homePaths, ensureDir } from './home.js';
import { GovError } from './errors.js';
import { findPolicyPath, loadPolicy } from './policy/load.js';
import { ConstraintTracker } from './policy/constraints.js';
import type { CompiledPolicy } from './policy/compiled.js';
import { openAuditSink, type FileAuditSink } from './audit/sink.js';
import { digestArgs } from './audit/canonical.js';
import { newRunId } from './audit/run-id.js';
import { ApprovalBroker } from './approvals/broker.js';
import { startControlServer, type ControlServer } from './approvals/control-socket.js';
import { createRedactor } from './safety/redact.js';
import { ToolPins } from './safety/tool-pins.js';
import { loadDeclaredPins } from './safety/declared-pins.js';
import type { PromptPurpose } from '../vault/store.js';
import type { CredentialInjector } from '../vault/inject.js';
import { Pipeline } from './pipeline.js';
import type { GovernedCallEvent, Transport } from './types.js';
import type { Logger } from './log.js';

export interface SessionOptions {
  transport: Transport;
  policyPath?: string | undefined;
  command: string[];
  approvalTimeoutMs?: number | undefined;
  /**
   * 'always' (default): a decision record is fsynced before its call is forwarded.
   * 'interval': it is written before forwarding and fsynced in the background within 200 ms.
   */
  auditSync?: 'always' | 'interval' | undefined;
  log: Logger;
  /** Asked for the vault passphrase when neither the keyring nor GOV_VAULT_PASSPHRASE has it. */
  prompt?: ((purpose: PromptPurpose) => Promise<string>) | undefined;
  env?: NodeJS.ProcessEnv;
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
  close(detail?: Record<string, string | number | boolean>): Promise<void>;
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

  // The vault is opened only when something needs it: bound credentials, or values to redact.
  // Loaded only then: libsodium's WASM and the keyring binding cost tens of MB of memory.
  let secrets = new Map<string, string>();
  if (policy.credentials.length > 0 || (policy.redact.vault && existsSync(paths.vault))) {
    const { openVault } = await import('../vault/store.js');
    const vault = await openVault({ home: paths.home, env, ...(o.prompt ? { prompt: o.prompt } : {}) });
    secrets = vault.values();
  }
  let credentials: CredentialInjector | undefined;
  if (policy.credentials.length > 0) {
    const { createCredentialInjector } = await import('../vault/inject.js');
    credentials = createCredentialInjector({
      bindings: policy.credentials,
      secrets,
      hostMatches: policy.hostMatches,
    });
  }
  const redactor = createRedactor({
    vaultValues: policy.redact.vault ? secrets : new Map(),
    vault: policy.redact.vault,
    secrets: policy.redact.secrets,
  });

  const pins = new ToolPins(paths.pins, {
    onChange: policy.pins.onChange,
    onPoison: policy.pins.onPoison,
    changedTools: policy.pins.changedTools,
    declared: loadDeclaredPins(policy.pins, policy.source),
  });

  const run = newRunId();
  ensureDir(paths.audit);
  const audit = await openAuditSink({ dir: paths.audit, run, durable: o.auditSync !== 'interval' });
  await audit.append({
    kind: 'run_start',
    transport: o.transport,
    policy_digest: policy.digest,
    detail: {
      policy: policy.source,
      command: o.command.join(' ').slice(0, 4096),
      pid: process.pid,
      audit_sync: o.auditSync ?? 'always',
    },
  });

  const broker = new ApprovalBroker();
  let control: ControlServer;
  try {
    control = await startControlServer({
      home: paths.home,
      run,
      broker,
      command: o.command,
      policySource: policy.source,
    });
  } catch (err) {
    await audit.seal({ error: 'control socket failed' }).catch(() => undefined);
    throw new GovError('approvals', `cannot start the approvals control socket: ${(err as Error).message}`);
  }

  const listeners = new Set<Listener>();
  const pipeline = new Pipeline({
    run,
    policy,
    constraints: new ConstraintTracker(),
    approvals: broker,
    audit,
    redactor,
    credentials,
    pins,
    digestArgs: (a) => digestArgs(a),
    approvalTimeoutMs: o.approvalTimeoutMs,
    onEvent: (e) => {
      for (const l of listeners) l(e);
    },
    log: o.log,
  });

  let closed = false;
  return {
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
    async close(detail = {}) {
      if (closed) return;
      closed = true;
      broker.close('the run ended');
      await control.close().catch(() => undefined);
      await audit
        .seal(detail)
        .catch((err: unknown) => o.log.warn(`could not seal the audit: ${(err as Error).message}`));
    },
  };
}
