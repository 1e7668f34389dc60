import { z } from 'zod';
import type { AuditInput, AuditRecord } from '../types.js';
import { canonicalJson, canonicalValue, IntegerLikeKey, sha256Hex } from './canonical.js';

/**
 * The on-disk shape of one audit record: how a record is hashed, serialised to one line,
 * and parsed back. Writer (sink) and readers (tail, verify) share this file so they can
 * never disagree about what was hashed.
 */

/** Fields the sink fills; a stage's input never sets them. */
const RESERVED = new Set(['v', 'id', 'ts', 'run', 'seq', 'prev', 'hash', 'signature']);

/** Readable field order on disk; the hash does not depend on it (canonical JSON sorts keys). */
const FIELD_ORDER = [
  'v',
  'id',
  'ts',
  'run',
  'seq',
  'kind',
  'transport',
  'server',
  'principal',
  'method',
  'tool',
  'uri',
  'args_digest',
  'args',
  'decision',
  'rule',
  'shadow_decision',
  'shadow_rule',
  'reason',
  'policy_digest',
  'approver',
  'status',
  'latency_ms',
  'redactions',
  'error',
  'server_info',
  'detail',
  'trace',
];

/**
 * SHA-256 hex over the canonical JSON of the record without its `hash` and `signature`
 * members (the signature is over the hash, so it cannot be inside it).
 */
export function hashRecord(rec: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const copy: Record<string, unknown> = { ...rec };
  delete copy['hash'];
  delete copy['signature'];
  return sha256Hex(canonicalJson(copy));
}

/** The known fields a stage's input places, in disk order. */
const PLACED = FIELD_ORDER.filter((k) => !RESERVED.has(k));
const KNOWN = new Set([...FIELD_ORDER, ...RESERVED]);
/** The members before `hash` on disk, in disk order, and each one's `"key":` text. */
const HASHED = [...FIELD_ORDER, 'prev'];
const KEY_TEXT = HASHED.map((k) => `${JSON.stringify(k)}:`);
const PREV = HASHED.length - 1;
/** Position in HASHED of each field a stage's input places. */
const PLACED_INDEX = new Map(PLACED.map((k) => [k, HASHED.indexOf(k)]));
/** Positions in HASHED in canonical (sorted) key order. */
const SORTED = HASHED.map((k, i) => [k, i] as const)
  .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  .map(([, i]) => i);

/** Where a record goes in its run's chain: the fields the sink fills. */
export interface ChainPosition {
  run: string;
  seq: number;
  prev: string | null;
  ts: string;
}

/**
 * A complete record and its line in the audit file. `sign`, when given, signs the hash (the
 * record's `signature`). Each member is serialised once, for both the hashed canonical JSON
 * and the line: the audit path is a tenth of gov's CPU per call.
 */
export function buildRecordLine(
  input: AuditInput,
  pos: ChainPosition,
  sign?: (hash: string) => string,
): { record: AuditRecord; line: string } {
  const fast = memberTexts(input, pos);
  if (fast) return finish(fast.record, fast.texts, sign);
  const record = assemble(input, pos);
  // Throws on values JSON cannot carry (NaN, BigInt, class instances), so what is hashed is
  // exactly what is written and what a reader parses back.
  record['hash'] = sha256Hex(canonicalJson(record));
  return finish(record, null, sign);
}

function finish(
  rec: Record<string, unknown>,
  texts: (string | undefined)[] | null,
  sign: ((hash: string) => string) | undefined,
): { record: AuditRecord; line: string } {
  const record = rec as unknown as AuditRecord;
  if (texts) record.hash = sha256Hex(joinMembers(texts, SORTED, '}'));
  if (sign) record.signature = sign(record.hash);
  if (!texts) return { record, line: serializeRecord(record) };
  const signature = record.signature === undefined ? '' : `,"signature":${JSON.stringify(record.signature)}`;
  const line = joinMembers(texts, null, `,"hash":"${record.hash}"${signature}}\n`);
  return { record, line: escapeUnsafe(line) };
}

/** The record in disk order, unknown fields after the known ones (general path). */
function assemble(given: Record<string, unknown>, pos: ChainPosition): Record<string, unknown> {
  const ordered: Record<string, unknown> = {
    v: 1,
    id: `${pos.run}.${pos.seq}`,
    ts: pos.ts,
    run: pos.run,
    seq: pos.seq,
  };
  for (const k of PLACED) {
    const v = given[k];
    if (v !== undefined) ordered[k] = v;
  }
  for (const k of Object.keys(given)) {
    const v = given[k];
    if (v === undefined || KNOWN.has(k) || k === '__proto__') continue;
    ordered[k] = v;
  }
  ordered['prev'] = pos.prev;
  return ordered;
}

/**
 * Fast path for a record of known fields: each member as canonical JSON text, by position in
 * HASHED, and the record in disk order with its members in canonical form (so it serialises
 * to its line). Null when the input has a field gov does not know or a value has an
 * integer-like key (the general path takes those).
 */
function memberTexts(
  given: Record<string, unknown>,
  pos: ChainPosition,
): { record: Record<string, unknown>; texts: (string | undefined)[] } | null {
  const texts: (string | undefined)[] = new Array<string | undefined>(HASHED.length);
  const values: unknown[] = new Array<unknown>(HASHED.length);
  try {
    for (const k in given) {
      const v = given[k];
      if (v === undefined) continue;
      const i = PLACED_INDEX.get(k);
      if (i === undefined) {
        if (RESERVED.has(k)) continue;
        return null;
      }
      const c = canonicalValue(v);
      values[i] = c;
      texts[i] = JSON.stringify(c);
    }
  } catch (err) {
    if (err instanceof IntegerLikeKey) return null;
    throw err;
  }
  const id = `${pos.run}.${pos.seq}`;
  texts[0] = '1';
  texts[1] = JSON.stringify(id);
  texts[2] = JSON.stringify(pos.ts);
  texts[3] = JSON.stringify(pos.run);
  texts[4] = String(pos.seq);
  texts[PREV] = pos.prev === null ? 'null' : JSON.stringify(pos.prev);
  const record: Record<string, unknown> = { v: 1, id, ts: pos.ts, run: pos.run, seq: pos.seq };
  for (let i = 5; i < PREV; i++) if (values[i] !== undefined) record[HASHED[i]!] = values[i];
  record['prev'] = pos.prev;
  return { record, texts };
}

/**
 * Scratch for joinMembers, kept at its full size (emptying an array frees its storage, and
 * refilling it grows it again): `{`, then a separator, key and text per member, then the end.
 * Unused slots hold '', which join skips.
 */
const pieces: string[] = new Array<string>(3 * HASHED.length + 2).fill('');

/**
 * `{"key":text,...` of the members present, in `order` (positions in HASHED) or disk order,
 * then `end`. Built by one join: a flat string, so hashing and encoding it copy nothing more.
 */
function joinMembers(texts: (string | undefined)[], order: number[] | null, end: string): string {
  pieces[0] = '{';
  let n = 1;
  for (let j = 0; j < texts.length; j++) {
    const i = order ? order[j]! : j;
    const t = texts[i];
    if (t === undefined) continue;
    const separator = n > 1 ? ',' : '';
    pieces[n++] = separator;
    pieces[n++] = KEY_TEXT[i]!;
    pieces[n++] = t;
  }
  pieces[n++] = end;
  const out = pieces.join('');
  for (let i = 0; i < n; i++) pieces[i] = '';
  return out;
}

/** Characters JSON.stringify leaves raw that would mislead a terminal showing the file. */
const UNSAFE = /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * One record as one line (JSON + '\n'); the record must already contain its hash. C1
 * controls, bidi and line-separator characters are \u-escaped so `cat` of an audit file
 * (or `tail --json`) cannot be spoofed by a tool name; the parsed value is unchanged.
 */
export function serializeRecord(rec: AuditRecord): string {
  return `${escapeUnsafe(JSON.stringify(rec))}\n`;
}

function escapeUnsafe(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const recordSchema = z
  .object({
    v: z.literal(1),
    id: z.string(),
    ts: z.string(),
    run: z.string(),
    seq: z.number().int().positive(),
    kind: z.enum([
      'run_start',
      'call',
      'approval',
      'alert',
      'checkpoint',
      'policy_reload',
      'notify',
      'run_end',
    ]),
    signature: z.string().optional(),
    prev: z.string().nullable(),
    hash: z.string(),
  })
  .passthrough();

export type ParsedLine = { ok: true; record: AuditRecord } | { ok: false; json: boolean; message: string };

/** Parse one line (without its newline) into a record, or say why it is not one. */
export function parseRecordLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, json: false, message: `not valid JSON (${(err as Error).message})` };
  }
  const r = recordSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? `field '${issue.path.join('.')}': ` : '';
    return { ok: false, json: true, message: `not an audit record (${where}${issue?.message ?? 'invalid'})` };
  }
  // The value as parsed, not zod's copy: key order must stay as stored (see verify).
  return { ok: true, record: value as AuditRecord };
}
