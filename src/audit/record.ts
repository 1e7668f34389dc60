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

/** A record with its hash, and the line that stores it (`serializeRecord(record)`). */
export interface BuiltRecord {
  record: AuditRecord;
  line: string;
}

/**
 * Build a complete record (with hash) from a stage's input and the chain position, and its
 * line. Members are laid out in canonical (sorted) order, so one serialisation gives both
 * the canonical text that is hashed and the stored line (the same text with `hash` in its
 * sorted place): one pass over the record instead of a sorted copy plus two serialisations.
 * A value the fast path cannot lay out (an integer-like key) takes the general path.
 */
export function buildRecord(
  input: AuditInput,
  pos: { run: string; seq: number; prev: string | null; ts: string },
): BuiltRecord {
  const given = input as Record<string, unknown>;
  const placed: Record<string, unknown> = {
    v: 1,
    id: `${pos.run}.${pos.seq}`,
    ts: pos.ts,
    run: pos.run,
    seq: pos.seq,
    prev: pos.prev,
  };
  const keys = ['v', 'id', 'ts', 'run', 'seq', 'prev'];
  for (const k of Object.keys(given)) {
    if (given[k] === undefined || RESERVED.has(k) || k === '__proto__') continue;
    keys.push(k);
  }
  keys.sort();
  // Members before and after `hash` in sorted order (`id` always sorts after it); `record`
  // gets the same order, with `hash` filled in once known. Built by assignment: spreading
  // objects this size costs more than the rest of the record.
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  const record: Record<string, unknown> = {};
  try {
    for (const k of keys) {
      const v = RESERVED.has(k) ? placed[k] : canonicalValue(given[k]);
      if (k < 'hash') before[k] = v;
      else {
        if (!('hash' in record)) record['hash'] = '';
        after[k] = v;
      }
      record[k] = v;
    }
  } catch (err) {
    // Throws on values JSON cannot carry (NaN, BigInt, class instances), so what is hashed is
    // exactly what is written and what a reader parses back.
    if (!(err instanceof IntegerLikeKey)) throw err;
    return buildOrdinaryRecord(given, placed);
  }
  const head = JSON.stringify(before);
  const tail = JSON.stringify(after).slice(1);
  const open = head.length > 2 ? `${head.slice(0, -1)},` : '{';
  const hash = sha256Hex(open + tail);
  record['hash'] = hash;
  return {
    record: record as unknown as AuditRecord,
    line: `${escapeUnsafe(`${open}"hash":"${hash}",${tail}`)}\n`,
  };
}

/** A value with an integer-like key, which no object holds in canonical order. */
function buildOrdinaryRecord(given: Record<string, unknown>, placed: Record<string, unknown>): BuiltRecord {
  const record: Record<string, unknown> = {};
  for (const k of Object.keys(placed)) record[k] = placed[k];
  for (const k of Object.keys(given)) {
    const v = given[k];
    if (v === undefined || RESERVED.has(k) || k === '__proto__') continue;
    record[k] = v;
  }
  record['hash'] = sha256Hex(canonicalJson(record));
  const built = record as unknown as AuditRecord;
  return { record: built, line: serializeRecord(built) };
}

/** The stored line of a record that gained a signature after it was built. */
export function withSignature(line: string, signature: string): string {
  return `${line.slice(0, -2)},"signature":${JSON.stringify(signature)}}\n`;
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
