/**
 * The MCP protocol version a session speaks is the one its server's `initialize` result names.
 * `gov serve --protocol-version-mode strict` judges that result wherever it travels: in a
 * POST's answer (Streamable HTTP) or on a 2024-11-05 session's GET stream.
 */
import type { JsonRpcId, JsonRpcMessage } from '../types.js';

export const isInitialize = (m: JsonRpcMessage): m is Extract<JsonRpcMessage, { kind: 'request' }> =>
  m.kind === 'request' && m.method === 'initialize';

/** A response in a server's message: the id it answers, and the version an `initialize` result names. */
export interface Answer {
  id: JsonRpcId;
  version?: string;
}

/** The responses in `text` (one message or a batch); none when it is no JSON. */
export function answersIn(text: string): Answer[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  const out: Answer[] = [];
  for (const m of Array.isArray(v) ? v : [v]) {
    if (typeof m !== 'object' || m === null) continue;
    const { id, result, error } = m as { id?: unknown; result?: unknown; error?: unknown };
    if (result === undefined && error === undefined) continue;
    const answer: Answer = { id: typeof id === 'string' || typeof id === 'number' ? id : null };
    const r = result as { protocolVersion?: unknown; capabilities?: unknown } | null | undefined;
    if (r && typeof r.protocolVersion === 'string' && typeof r.capabilities === 'object')
      answer.version = r.protocolVersion;
    out.push(answer);
  }
  return out;
}

/** `gov serve --protocol-version-mode strict`, as the HTTP handler meets it (on an Exchange). */
export interface VersionGate {
  /** The request holds an `initialize`, about to be governed: its answer will be judged. */
  initializing(): void;
  /**
   * A server's `initialize` result names `version`: null when it is accepted; otherwise the
   * refusal (recorded and audited already) to tell the client.
   */
  refusal(version: string): string | null;
  /**
   * Why a request outside any session that names no version and is no lone `initialize` is
   * refused (its server takes it as 2025-03-26); null when that version is accepted.
   */
  readonly unnamed: string | null;
}
