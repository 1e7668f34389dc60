import { GovError } from '../errors.js';
import type { NotifyHookSpec } from '../policy/approvals-schema.js';
import type { HeldCall, JsonObject, JsonValue } from '../types.js';
import type { BrokerEvent } from './broker.js';
import { summariseHeldCall } from './args-summary.js';
import { pendingEntry } from './pending-entry.js';
import { escapeInvisible } from '../terminal-text.js';

/** One hook with its header values resolved (they may hold vault secrets: never logged). */
export interface NotifyTarget {
  url: string;
  headers: Record<string, string>;
}

/** What is audited about one notification: never the URL's path or query, nor a header value. */
export interface NotifyOutcome {
  held_id: string;
  /** 1-based position in `approvals.notify`. */
  hook: number;
  /** The hook's origin only: an incoming-webhook URL's path is itself a credential. */
  origin: string;
  ok: boolean;
  attempts: number;
  http_status?: number;
  error?: string;
}

export interface NotifierOptions {
  targets: NotifyTarget[];
  broker: {
    subscribe(l: (ev: BrokerEvent) => void): () => void;
    get(id: string): HeldCall | undefined;
  };
  record: (o: NotifyOutcome) => void;
  timeoutMs?: number;
  /** Attempts per notification (default 3); retried on network errors, 429 and 5xx. */
  attempts?: number;
  backoffMs?: number;
}

/** Vault entries the hooks' headers name. */
export function notifySecretNames(hooks: NotifyHookSpec[]): string[] {
  return hooks.flatMap((h) =>
    Object.values(h.headers).flatMap((v) => (typeof v === 'string' ? [] : [v.secret])),
  );
}

/** Header values resolved from the vault; a missing secret is a configuration error. */
export function resolveNotifyTargets(hooks: NotifyHookSpec[], secrets: Map<string, string>): NotifyTarget[] {
  return hooks.map((h, i) => {
    const headers: Record<string, string> = {};
    for (const [name, v] of Object.entries(h.headers)) {
      if (typeof v === 'string') headers[name] = v;
      else {
        const value = secrets.get(v.secret);
        if (value === undefined)
          throw new GovError(
            'config',
            `approvals.notify[${i}] header '${name}' names vault secret '${v.secret}', which is not set`,
            { hint: `store it with 'gov vault set ${v.secret}'` },
          );
        headers[name] = value;
      }
    }
    return { url: h.url, headers };
  });
}

/** Every string (and key) with its invisible and format characters written as `<U+XXXX>`. */
function escapedDeep(v: JsonValue): JsonValue {
  if (typeof v === 'string') return escapeInvisible(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(escapedDeep);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [escapeInvisible(k), escapedDeep(x)]));
}

/**
 * The JSON a hook receives: the `gov pending --json` entry and the commands that answer it.
 * A receiver shows the decoded strings to people, so invisible and format characters in them
 * are spelled `<U+XXXX>` (a JSON `\u00ad` escape would be decoded back into hiding).
 */
export function notificationBody(call: HeldCall): JsonObject {
  return {
    ...(escapedDeep(pendingEntry(summariseHeldCall(call))) as JsonObject),
    approve_command: `gov approve ${call.id}`,
    deny_command: `gov deny ${call.id}`,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Tells people that a call is held (Slack/Teams webhooks, ntfy, any automation). It runs
 * beside the approval, never in its way: sends happen in the background, each bounded by a
 * timeout, and their failures are only recorded.
 */
export function startNotifier(o: NotifierOptions): () => void {
  const timeoutMs = o.timeoutMs ?? 5000;
  const attempts = o.attempts ?? 3;
  const backoffMs = o.backoffMs ?? 1000;
  if (o.targets.length === 0) return () => {};

  const send = async (call: HeldCall, target: NotifyTarget, hook: number): Promise<void> => {
    const body = JSON.stringify(notificationBody(call));
    const outcome: NotifyOutcome = {
      held_id: call.id,
      hook,
      origin: new URL(target.url).origin,
      ok: false,
      attempts: 0,
    };
    for (let i = 0; i < attempts; i++) {
      // A call already answered needs no more reminders.
      if (i > 0 && !o.broker.get(call.id)) break;
      outcome.attempts = i + 1;
      try {
        const res = await fetch(target.url, {
          method: 'POST',
          headers: { ...target.headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'manual',
        });
        await res.body?.cancel().catch(() => undefined);
        outcome.http_status = res.status;
        if (res.ok) {
          outcome.ok = true;
          delete outcome.error;
          break;
        }
        outcome.error = `HTTP ${res.status}`;
        if (res.status !== 429 && res.status < 500) break;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        outcome.error =
          e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
      }
      if (i + 1 < attempts) await sleep(backoffMs * 2 ** i);
    }
    o.record(outcome);
  };

  return o.broker.subscribe((ev) => {
    if (ev.type !== 'held') return;
    o.targets.forEach((t, i) => void send(ev.call, t, i + 1).catch(() => undefined));
  });
}
