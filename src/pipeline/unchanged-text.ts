/**
 * The fast path for server→client text that gov would pass on unchanged: decided from the raw
 * text, without JSON.parse, so a stream of ordinary notifications costs one scan per event.
 *
 * Sound only for text without any backslash: then every JSON string appears verbatim between
 * its quotes, every key (`"method"`, `"result"`, `"blob"`) appears literally, and a secret
 * cannot be spelled with escapes (`\u0067hp_…`, `\/`) that a raw scan would miss. A match of a
 * redaction pattern inside a string is also a match in the raw text: the quotes around it are
 * not word characters, so the patterns' boundaries hold there too.
 */
import { SERVER_REQUEST_METHODS } from '../mcp/server-requests.js';
import type { RedactionStage } from './stages.js';

/** Substrings that mean the message may need structural work (see the checks below). */
const STRUCTURAL = [
  // A server request (2025) or an MRTR / tasks input request (2026) goes through policy.
  ...SERVER_REQUEST_METHODS,
  'input_required',
  // Base64 resource contents hide text from a scan of the raw JSON.
  '"blob"',
];

/**
 * True when `text` certainly needs no change and no record: no backslash, nothing that needs
 * structural work, nothing to redact. `mayAnswerCall`: some call of this exchange still waits
 * for its answer, so a response must be parsed to be correlated (outcome record, tools/list
 * filter, taint); a result is parsed in any case (see ServerMessageProcessor).
 */
export function passesUnchanged(text: string, redactor: RedactionStage, mayAnswerCall: boolean): boolean {
  if (text.includes('\\')) return false;
  // A result is parsed even when no call of this exchange waits: one that answers a call sent
  // elsewhere still reaches the client, and is filtered, pinned and tainted all the same.
  if (text.includes('"result"') || (mayAnswerCall && text.includes('"error"'))) return false;
  for (const s of STRUCTURAL) if (text.includes(s)) return false;
  // Nothing found: redactString returns the text itself, having allocated nothing for it.
  return Object.keys(redactor.redactString(text).counts).length === 0;
}
