/**
 * Redaction edits JSON strings only. A vault value a server writes outside any string — as a
 * JSON number (a numeric credential echoed as `"key": 8675309123456`), or across two strings
 * (a value holding `","`) — is out of its reach. So when the vault holds such values, the text
 * gov is about to send is scanned for them once more, and a message that still holds one is
 * withheld: in its place goes an error under the message's id.
 */
import { isPlainObject } from '../types.js';
import { jsonRpcError } from '../mcp/wire-errors.js';
import type { Pipeline } from '../pipeline.js';
import type { ServerOrigin } from './server-messages.js';
import { applyEdits, type TextEdit } from './string-edits.js';
import type { VaultScan } from './stages.js';

const BARE_VALUE_REASON =
  'gov withheld a message from the server: it holds a secret outside any JSON string, which gov cannot redact in place';

/** A value that can sit outside a JSON string: made of number characters, or holding a quote. */
export function canSitOutsideStrings(value: string): boolean {
  return /^[-+.\deE]+$/.test(value) || value.includes('"');
}

/** Does the text about to be sent (`out` applied to `text`) still hold such a value? */
export function bareValueLeft(
  scan: VaultScan | undefined,
  text: string,
  out: string | TextEdit[] | null,
): boolean {
  if (!scan) return false;
  const sent = out === null ? text : typeof out === 'string' ? out : applyEdits(text, out);
  return scan.scan(sent).length > 0;
}

/**
 * gov's answer in place of the withheld message (under its id when it is a response), after an
 * alert record saying why.
 */
export function withheldBare(pipeline: Pipeline, origin: ServerOrigin | undefined, value: unknown): string {
  void pipeline.alert({
    reason: BARE_VALUE_REASON,
    transport: origin?.transport ?? 'http',
    ...(origin ? { server: origin.server } : {}),
  });
  const id = isPlainObject(value) && !('method' in value) ? value['id'] : null;
  return JSON.stringify(
    jsonRpcError(typeof id === 'string' || typeof id === 'number' ? id : null, -32603, BARE_VALUE_REASON),
  );
}
