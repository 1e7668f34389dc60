/**
 * Output redaction: vault values (and their JSON-escaped, URL-encoded, base64 and
 * base64url forms) and well-known secret formats become `[REDACTED:<kind>]` — `vault` for
 * vault values, which never names the entry. One combined regex finds candidate
 * positions (vault literals and the patterns' prefixes) so ordinary text is scanned once;
 * full patterns run only at those positions. Pure: no I/O, no node:* imports.
 */
import type { JsonValue } from '../types.js';
import { base64, base64Cores, utf8 } from './base64.js';
import { SECRET_PATTERNS, VAULT_KIND, type SecretPattern } from './patterns.js';
import { echoedSpellings } from './value-spellings.js';

export type RedactionCounts = Record<string, number>;

export interface RedactorOptions {
  /** Vault entry name → value. */
  vaultValues: Map<string, string>;
  /** Redact well-known secret formats. */
  secrets: boolean;
  /** Redact vault values. */
  vault: boolean;
}

export interface Span {
  start: number;
  end: number;
  kind: string;
}

export interface Redactor {
  redactString(s: string): { text: string; counts: RedactionCounts };
  redactJson(value: JsonValue): { value: JsonValue; counts: RedactionCounts };
  /** Sorted, non-overlapping spans to redact in s. */
  scan(s: string): Span[];
  /** Longest vault literal form searched for (stream hold-back hint). */
  readonly maxLiteralLength: number;
}

/** Shorter vault values are not matched: they occur by chance in ordinary output. */
export const MIN_VAULT_VALUE_LENGTH = 4;
/** Base64 alignment cores shorter than this are skipped for the same reason. */
const MIN_CORE_LENGTH = 16;

export function redactionMarker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/** Every form in which a vault value may appear in output text. */
export function vaultValueForms(value: string): string[] {
  if (value.length < MIN_VAULT_VALUE_LENGTH) return [];
  const forms = new Set<string>([value]);
  const json = JSON.stringify(value).slice(1, -1);
  forms.add(json);
  forms.add(json.replace(/\//g, '\\/'));
  const url = encodeURIComponent(value);
  forms.add(url);
  forms.add(url.replace(/%20/g, '+'));
  for (const f of echoedSpellings(value)) forms.add(f);
  const bytes = utf8(value);
  const cores = [
    ...base64Cores(value, { minLength: MIN_CORE_LENGTH }),
    ...base64Cores(value, { urlSafe: true, minLength: MIN_CORE_LENGTH }),
  ];
  // The aligned core stops at the last whole 3-byte group; the value encoded on its own ends
  // in a partial group (e.g. `Mw==`) that still carries its last bytes. Its whole encoding,
  // padded or not, is the longer match at the same place, so nothing of the value is left.
  for (const pad of [true, false]) {
    forms.add(base64(bytes, { pad }));
    forms.add(base64(bytes, { urlSafe: true, pad }));
  }
  for (const c of cores) forms.add(c);
  return [...forms].filter((f) => f.length >= MIN_VAULT_VALUE_LENGTH);
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

interface CompiledPattern extends SecretPattern {
  /** Matches exactly the prefix text a hit produced. */
  exact: RegExp;
}

/** Sort and drop overlaps: the earlier span wins, and at one start the longer one. */
function mergeSpans(spans: Span[]): Span[] {
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  for (const sp of spans) {
    const last = out[out.length - 1];
    if (last && sp.start < last.end) {
      if (sp.end > last.end) last.end = sp.end;
      continue;
    }
    out.push({ ...sp });
  }
  return out;
}

/**
 * Character commonness in typical tool output (prose, JSON, code), most common first. A
 * literal is searched from its rarest character: the scan regex then starts with only a
 * few distinct, uncommon characters, which V8 skips through quickly; the part before the
 * anchor is checked by a lookbehind.
 */
const COMMON = ' etaoinsrhldcumfpgwybvk"\n:,.0123456789/_-xjqz{}[]ETAOINSRHLDCUMFPGWYBVKXJQZ';
const rarity = (ch: string): number => {
  const i = COMMON.indexOf(ch);
  return i === -1 ? COMMON.length + 1 : i;
};

interface LiteralScan {
  re: RegExp;
  /** Matched text (anchor + rest of the literal) → literals with that tail and the anchor offset. */
  byTail: Map<string, { lit: string; at: number }[]>;
}

function compileLiteralScan(sortedLiterals: string[]): LiteralScan | null {
  if (sortedLiterals.length === 0) return null;
  const byTail = new Map<string, { lit: string; at: number }[]>();
  const alts: string[] = [];
  for (const lit of sortedLiterals) {
    let at = 0;
    for (let i = 1; i < lit.length; i++) if (rarity(lit[i]!) > rarity(lit[at]!)) at = i;
    const tail = lit.slice(at);
    const list = byTail.get(tail) ?? [];
    if (list.length === 0) byTail.set(tail, list);
    list.push({ lit, at });
    const head = lit.slice(0, at + 1);
    alts.push(
      at === 0
        ? escapeRegex(lit)
        : `${escapeRegex(lit[at]!)}(?<=${escapeRegex(head)})${escapeRegex(lit.slice(at + 1))}`,
    );
  }
  return { re: new RegExp(alts.join('|'), 'g'), byTail };
}

export function createRedactor(opts: RedactorOptions): Redactor {
  const literals = new Set<string>();
  if (opts.vault)
    for (const v of opts.vaultValues.values()) for (const f of vaultValueForms(v)) literals.add(f);
  // Longest first: at one position the alternation takes the first alternative that matches.
  const sortedLiterals = [...literals].sort((a, b) => b.length - a.length);
  const literalScan = compileLiteralScan(sortedLiterals);
  const maxLiteralLength = sortedLiterals[0]?.length ?? 0;

  const patterns: CompiledPattern[] = opts.secrets
    ? SECRET_PATTERNS.map((p) => ({ ...p, exact: new RegExp(`^(?:${p.prefix})$`) }))
    : [];
  const anchored = patterns.filter((p) => p.anchored).map((p) => p.prefix);
  const literalStarts = patterns.filter((p) => !p.anchored).map((p) => `(?:${p.prefix})`);
  // Group 1 (a lookbehind, so only tried at an anchor character) spans the whole prefix.
  const patternRe = patterns.length
    ? new RegExp(
        [
          ...(anchored.length ? [`(?:[-_JA]|\\.slack\\.com/)(?<=(${anchored.join('|')}))`] : []),
          ...literalStarts,
        ].join('|'),
        'gd',
      )
    : null;

  // Which patterns a prefix hit can start: decided once per distinct hit text (few exist).
  const byHit = new Map<string, CompiledPattern[]>();
  const candidatesFor = (hit: string): CompiledPattern[] => {
    let list = byHit.get(hit);
    if (list === undefined) {
      list = patterns.filter((p) => p.exact.test(hit));
      if (byHit.size < 4096) byHit.set(hit, list);
    }
    return list;
  };

  const scanPatterns = (s: string, spans: Span[]): void => {
    if (!patternRe) return;
    patternRe.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = patternRe.exec(s)) !== null) {
      const group = m.indices?.[1];
      const start = group ? group[0] : m.index;
      const hitEnd = group ? group[1] : m.index + m[0].length;
      let next = m.index + 1;
      for (const p of candidatesFor(s.slice(start, hitEnd))) {
        p.regex.lastIndex = start;
        const pm = p.regex.exec(s);
        if (!pm) continue;
        const sub = pm.indices?.groups?.['s'];
        const [a, b] = sub ?? [start, start + pm[0].length];
        if (p.validate && !p.validate(s.slice(a, b))) continue;
        spans.push({ start: a, end: b, kind: p.kind });
        next = Math.max(next, start + pm[0].length);
        break;
      }
      patternRe.lastIndex = next;
    }
  };

  const scanLiterals = (s: string, spans: Span[]): void => {
    if (!literalScan) return;
    const { re, byTail } = literalScan;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(s)) !== null) {
      // m.index is the anchor; find the (longest) literal whose head precedes it.
      let hit: { lit: string; at: number } | undefined;
      for (const c of byTail.get(m[0]) ?? []) {
        const start = m.index - c.at;
        if (start >= 0 && s.startsWith(c.lit, start)) {
          hit = { lit: c.lit, at: start };
          break;
        }
      }
      if (hit) {
        const end = hit.at + hit.lit.length;
        const last = spans[spans.length - 1];
        // Overlapping vault forms (one value inside another) merge so no fragment shows.
        if (last && hit.at < last.end) {
          last.start = Math.min(last.start, hit.at);
          last.end = Math.max(last.end, end);
        } else {
          spans.push({ start: hit.at, end, kind: VAULT_KIND });
        }
      }
      re.lastIndex = m.index + 1;
    }
  };

  const scan = (s: string): Span[] => {
    if (s.length < MIN_VAULT_VALUE_LENGTH) return [];
    const found: Span[] = [];
    scanLiterals(s, found);
    const vaultCount = found.length;
    scanPatterns(s, found);
    // Pattern spans come sorted and disjoint; vault spans may overlap (merged) and mix with them.
    if (found.length <= 1 || vaultCount === 0) return found;
    return mergeSpans(found);
  };

  const redactString = (s: string): { text: string; counts: RedactionCounts } => {
    const spans = scan(s);
    const counts: RedactionCounts = {};
    if (spans.length === 0) return { text: s, counts };
    return { text: applySpans(s, spans, counts), counts };
  };

  const redactJson = (value: JsonValue): { value: JsonValue; counts: RedactionCounts } => {
    const counts: RedactionCounts = {};
    const walk = (v: JsonValue): JsonValue => {
      if (typeof v === 'string') {
        const spans = scan(v);
        return spans.length ? applySpans(v, spans, counts) : v;
      }
      if (Array.isArray(v)) {
        let out: JsonValue[] | null = null;
        for (let i = 0; i < v.length; i++) {
          const r = walk(v[i]!);
          if (r !== v[i] && out === null) out = v.slice(0, i);
          if (out !== null) out.push(r);
        }
        return out ?? v;
      }
      if (v !== null && typeof v === 'object') {
        let changed = false;
        const out: [string, JsonValue][] = [];
        for (const [k, child] of Object.entries(v)) {
          const spans = scan(k);
          const key = spans.length ? applySpans(k, spans, counts) : k;
          const r = walk(child);
          if (key !== k || r !== child) changed = true;
          out.push([key, r]);
        }
        // fromEntries defines own properties: assigning out['__proto__'] would set the prototype
        // instead, and the key would vanish from the copy.
        return changed ? Object.fromEntries<JsonValue>(out) : v;
      }
      return v;
    };
    return { value: walk(value), counts };
  };

  return { redactString, redactJson, scan, maxLiteralLength };
}

/** Replace spans (sorted, non-overlapping) in s[0, upto) by markers, tallying counts. */
export function applySpans(s: string, spans: Span[], counts: RedactionCounts, upto = s.length): string {
  let out = '';
  let at = 0;
  for (const sp of spans) {
    if (sp.start >= upto) break;
    out += s.slice(at, sp.start) + redactionMarker(sp.kind);
    counts[sp.kind] = (counts[sp.kind] ?? 0) + 1;
    at = sp.end;
  }
  return out + s.slice(at, Math.max(at, upto));
}
