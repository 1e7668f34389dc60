import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApprovalVerdict, JsonObject, JsonRpcMessage, JsonValue } from '../types.js';
import {
  elicitationParams,
  questionShowsWholeCall,
  elicitingClient,
  verdictFromElicitation,
  type ElicitingClient,
} from './elicitation.js';
import type { HeldCall } from '../types.js';

/**
 * Approval by elicitation on protocol 2026-07-28 (stateless, multi-round-trip requests): a
 * held call is answered at once with an `input_required` result carrying the question, and
 * the client's retry (a new request with `inputResponses` and the echoed `requestState`)
 * brings the answer. The `requestState` is gov's own: an HMAC (per-run key) over the held
 * call's id, server, method, tool and argument digest and a nonce, so it cannot be forged, nor
 * replayed onto other arguments or a second time.
 */

const META_CAPS = 'io.modelcontextprotocol/clientCapabilities';
const META_INFO = 'io.modelcontextprotocol/clientInfo';
/** The key of gov's question in `inputRequests` / `inputResponses`. */
export const INPUT_KEY = 'gov-approval';
const STATE_PREFIX = 'gov1.';
// Nonces of spent states remembered (bounded); an evicted one is still bound to a settled call.
const SPENT_LIMIT = 10_000;
// Verdicts of settled calls kept for a retry that has yet to arrive.
const VERDICT_LIMIT = 10_000;

export interface RetryFields {
  client: ElicitingClient;
  requestState?: string;
  inputResponses?: JsonValue;
}

interface StatePayload {
  h: string;
  s: string;
  m: string;
  t: string;
  d: string;
  n: string;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `clientInfo` a 2026-07-28 request carries in its `_meta` (stateless: in every request). */
export function requestClientInfo(msg: JsonRpcMessage): JsonValue | undefined {
  if (msg.kind === 'response' || !isObject(msg.params) || !isObject(msg.params['_meta'])) return undefined;
  return msg.params['_meta'][META_INFO];
}

/** The 2026-07-28 facts of a request: an elicitation-capable client, and retry fields if any. */
export function retryFieldsOf(params: unknown): RetryFields | undefined {
  if (!isObject(params) || !isObject(params['_meta'])) return undefined;
  const meta = params['_meta'];
  const client = elicitingClient({ clientInfo: meta[META_INFO] ?? null }, meta[META_CAPS]);
  if (!client) return undefined;
  const out: RetryFields = { client };
  if (typeof params['requestState'] === 'string') out.requestState = params['requestState'];
  if (params['inputResponses'] !== undefined) out.inputResponses = params['inputResponses'];
  return out;
}

/** A retry's `requestState` that gov minted (others belong to the server and pass on). */
export function isGovState(state: string | undefined): state is string {
  return state !== undefined && state.startsWith(STATE_PREFIX);
}

/** The request as the server must see it: gov's retry fields removed. */
export function withoutRetryFields(raw: JsonObject): JsonObject {
  const params = raw['params'];
  if (!isObject(params)) return raw;
  const rest = { ...params };
  delete rest['requestState'];
  delete rest['inputResponses'];
  return { ...raw, params: rest };
}

export class InputRequiredApprovals {
  private readonly key = randomBytes(32);
  private readonly spent = new Set<string>();
  private readonly verdicts = new Map<string, Promise<ApprovalVerdict>>();

  /** The `input_required` result asking `client` about a held call; its verdict is kept for the retry. */
  ask(call: HeldCall, client: ElicitingClient, verdict: Promise<ApprovalVerdict>): JsonObject {
    this.verdicts.set(call.id, verdict);
    if (this.verdicts.size > VERDICT_LIMIT) {
      const oldest = this.verdicts.keys().next().value;
      if (oldest !== undefined) this.verdicts.delete(oldest);
    }
    const payload: StatePayload = {
      h: call.id,
      s: call.server,
      m: call.method,
      t: call.tool,
      d: call.args_digest,
      n: randomBytes(12).toString('base64url'),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return {
      resultType: 'input_required',
      inputRequests: {
        [INPUT_KEY]: { method: 'elicitation/create', params: elicitationParams(call, client) },
      },
      requestState: `${STATE_PREFIX}${body}.${this.mac(body)}`,
    };
  }

  /**
   * A retry: check gov's state against this call, spend it, apply the client's answer to the
   * held call (unless another channel settled it first) and return the call's final verdict.
   */
  async resume(
    state: string,
    call: { server: string; method: string; tool: string; args_digest: string; args: JsonValue },
    answer: { client: ElicitingClient; inputResponses?: JsonValue },
    settle: (id: string, v: ApprovalVerdict) => boolean,
  ): Promise<{ ok: true; verdict: ApprovalVerdict } | { ok: false; why: string }> {
    const payload = this.open(state);
    if (!payload) return { ok: false, why: 'its signature does not verify (forged or from another run)' };
    const same = payload.s === call.server && payload.m === call.method && payload.t === call.tool;
    if (!same || payload.d !== call.args_digest)
      return { ok: false, why: 'it was issued for a different call or other arguments' };
    if (this.spent.has(payload.n)) return { ok: false, why: 'it was already used (replayed)' };
    const pending = this.verdicts.get(payload.h);
    if (!pending) return { ok: false, why: 'it was already used or has expired' };
    this.spent.add(payload.n);
    if (this.spent.size > SPENT_LIMIT) {
      const oldest = this.spent.values().next().value;
      if (oldest !== undefined) this.spent.delete(oldest);
    }
    this.verdicts.delete(payload.h);
    const responses = isObject(answer.inputResponses) ? answer.inputResponses : {};
    const result = responses[INPUT_KEY];
    const whole = questionShowsWholeCall(call);
    settle(payload.h, verdictFromElicitation(answer.client, result === undefined ? {} : { result }, whole));
    return { ok: true, verdict: await pending };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private open(state: string): StatePayload | null {
    const rest = state.slice(STATE_PREFIX.length);
    const dot = rest.indexOf('.');
    if (dot <= 0) return null;
    const body = rest.slice(0, dot);
    const given = Buffer.from(rest.slice(dot + 1));
    const want = Buffer.from(this.mac(body));
    if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
    try {
      const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
      if (!isObject(p)) return null;
      const { h, s, m, t, d, n } = p;
      if ([h, s, m, t, d, n].some((x) => typeof x !== 'string')) return null;
      return p as unknown as StatePayload;
    } catch {
      return null;
    }
  }
}
