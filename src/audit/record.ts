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
/** A record of known fields only, in canonical (sorted) order, `hash` and `signature` aside. */
const CANONICAL_ORDER = [...FIELD_ORDER, 'prev'].sort();

/** Build a complete record (with hash) from a stage's input and the chain position. */
export function buildRecord(
  input: AuditInput,
  pos: { run: string; seq: number; prev: string | null; ts: string },
): AuditRecord {
  const given = input as Record<string, unknown>;
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
  let others = false;
  for (const k of Object.keys(given)) {
    const v = given[k];
    if (v === undefined || KNOWN.has(k) || k === '__proto__') continue;
    ordered[k] = v;
    others = true;
  }
  ordered['prev'] = pos.prev;
  // Throws on values JSON cannot carry (NaN, BigInt, class instances), so what is hashed is
  // exactly what is written and what a reader parses back.
  ordered['hash'] = sha256Hex(others ? canonicalJson(ordered) : canonicalRecordText(ordered));
  return ordered as unknown as AuditRecord;
}

/**
 * The canonical JSON of a record of known fields: laid out in the precomputed sorted order
 * rather than sorted per record (the audit path is a tenth of gov's CPU at 32 clients).
 */
function canonicalRecordText(rec: Record<string, unknown>): string {
  const canon: Record<string, unknown> = {};
  try {
    for (const k of CANONICAL_ORDER) {
      const v = rec[k];
      if (v !== undefined) canon[k] = canonicalValue(v);
    }
  } catch (err) {
    if (err instanceof IntegerLikeKey) return canonicalJson(rec);
    throw err;
  }
  return JSON.stringify(canon);
}

/** Characters JSON.stringify leaves raw that would mislead a terminal showing the file. */
const UNSAFE = /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * One record as one line (JSON + '\n'); the record must already contain its hash. C1
 * controls, bidi and line-separator characters are \u-escaped so `cat` of an audit file
 * (or `tail --json`) cannot be spoofed by a tool name; the parsed value is unchanged.
 */
export function serializeRecord(rec: AuditRecord): string {
  const json = JSON.stringify(rec).replace(
    UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `${json}\n`;
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
