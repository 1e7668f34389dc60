import type { Envelope, JsonRpcMessage } from '../types.js';
import { bareEnvelope, toEnvelope } from '../mcp/envelope.js';
import { ElicitationRequests } from '../approvals/elicitation-requests.js';
import { elicitingClient } from '../approvals/elicitation.js';
import { HeldCallRegistry } from './held-calls.js';
import type { AlertFacts, OutcomeFacts } from './call-records.js';
import type {
  BatchOptions,
  CallContext,
  ClientMessage,
  ExchangeFacts,
  Governed,
  GovernedBatch,
  GovernOptions,
} from './exchange.js';

/** What a batch needs from the pipeline for each message. */
export interface MessageGovernor {
  govern(env: Envelope, opts: GovernOptions): Promise<Governed>;
  failed(env: Envelope, err: unknown): Promise<Governed>;
  recordOutcome(call: CallContext, o: OutcomeFacts): Promise<void>;
  alert(a: AlertFacts): Promise<string | null>;
}

type ClientResponse = Extract<JsonRpcMessage, { kind: 'response' }>;

/**
 * One client message or batch through the pipeline. Answers to gov's own questions are
 * consumed, answers to server requests gov relayed to the client and not yet answered pass on
 * (once), every other answer is dropped (with an alert), `notifications/cancelled` withdraws
 * the call it names, and every request and notification is governed on its own. Never
 * throws: a message that fails is denied alone, and the rest of the batch goes on.
 */
export class ClientBatches {
  /** Requests being governed, so `notifications/cancelled` can withdraw them. */
  private readonly inflight = new HeldCallRegistry();
  /** gov's own `elicitation/create` questions awaiting the client's answer. */
  private readonly questions = new ElicitationRequests();

  constructor(private readonly pipeline: MessageGovernor) {}

  async govern(messages: JsonRpcMessage[], facts: ExchangeFacts, o: BatchOptions): Promise<GovernedBatch> {
    const results = await Promise.all(
      messages.map(async (m): Promise<MessageResult> => {
        if (m.kind !== 'response') return { m, g: await this.governMessage(m, facts, o) };
        if (this.questions.take(m)) return { m, own: true };
        if (o.answerAwaited(m.id)) return { m };
        await this.dropForged(m, facts);
        return { m, own: true };
      }),
    );
    return assembleBatch(results);
  }

  /** The client "answered" a server request it was never shown (or answered already): dropped. */
  private async dropForged(m: ClientResponse, facts: ExchangeFacts): Promise<void> {
    await this.pipeline.alert({
      reason: `dropped the client's answer to the server's request ${JSON.stringify(m.id)}: gov did not relay such a request to this client, or it was answered already`,
      transport: facts.transport,
      server: { name: facts.server.name, url: facts.server.url },
      principal: facts.principal,
      detail: { request_id: m.id, answer: m.error !== undefined ? 'error' : 'result' },
    });
  }

  private async governMessage(m: ClientMessage, facts: ExchangeFacts, o: BatchOptions): Promise<Governed> {
    if (m.kind === 'notification' && m.method === 'notifications/cancelled')
      this.inflight.cancel(facts.scope, m.params);
    if (m.kind === 'request' && m.method === 'initialize') o.onInitialize?.(elicitingClient(m.params));
    const tracked = m.kind === 'request' ? this.inflight.track(facts.scope, m.id, o.gone) : undefined;
    let env: Envelope | undefined;
    try {
      env = toEnvelope(m, facts);
      const hooks = o.held?.(m, env) ?? {};
      const g = await this.pipeline.govern(env, {
        onHeld: () => {
          hooks.onHeld?.();
          return tracked ? tracked.signal() : o.gone();
        },
        ...(o.injected ? { injected: o.injected } : {}),
        ...(o.bytes !== undefined ? { bytes: o.bytes } : {}),
        elicitation: hooks.ask ? this.questions.channel(hooks.ask.client, hooks.ask.send) : undefined,
      });
      // The client cancelled it while gov decided: MCP says nobody waits for an answer, and a
      // call not yet forwarded is not forwarded at all.
      if (!tracked?.withdrawn) return g;
      if (g.action === 'forward') void this.pipeline.recordOutcome(g.call, { status: 'cancelled' });
      return { action: 'respond', call: g.call, response: null };
    } catch (err) {
      return this.pipeline.failed(env ?? bareEnvelope(m, facts), err);
    } finally {
      tracked?.release();
    }
  }
}

/**
 * One message of a batch as governed: its verdict, or `own` for an answer gov takes out (to its
 * own question, or a forged one to a server request the client was never shown).
 */
export interface MessageResult {
  m: JsonRpcMessage;
  g?: Governed;
  own?: boolean;
}

/** The batch to forward and the answers to give, in the client's order. */
export function assembleBatch(results: MessageResult[]): GovernedBatch {
  const out: GovernedBatch = {
    forward: [],
    answers: [],
    calls: new Map(),
    unchanged: true,
    governedForward: false,
  };
  for (const { m, g, own } of results) {
    if (own) {
      out.unchanged = false;
      continue;
    }
    if (g?.action === 'respond') {
      out.unchanged = false;
      if (g.response) out.answers.push(g.response);
      continue;
    }
    if (g?.call.forward) out.unchanged = false;
    out.forward.push(g?.call.forward ?? m.raw);
    if (!g) continue;
    out.governedForward = true;
    if (m.kind === 'request') out.calls.set(m.id, g.call);
  }
  return out;
}
