/**
 * Tool poisoning: text in a tool definition aimed at the model rather than the user, such as
 * hidden characters, instructions to ignore the user or keep secrets from them, requests for
 * credentials or file contents, steering of other tools, and opaque blobs. Every string of a
 * definition is scanned, and so is all of a server's text joined, to catch a payload split
 * across tools. Pure; findings carry only sanitised, shortened excerpts.
 */
import type { JsonValue } from '../types.js';
import type { ToolDefinition } from './tool-definition.js';

export type Severity = 'high' | 'medium' | 'low';

export interface PoisonFinding {
  rule: string;
  severity: Severity;
  /** The tool, or null for a finding only visible in the server's joined text. */
  tool: string | null;
  /** Where in the definition: `description`, `inputSchema.properties.note.description`, … */
  where: string;
  /** The matched text, invisible characters spelled out, at most 120 characters. */
  excerpt: string;
}

interface Rule {
  id: string;
  severity: Severity;
  re: RegExp;
  /** A cheaper test over the whole text that any match implies; the rule runs only if it passes. */
  gate?: (text: string) => boolean;
}

const BASE64_CHARS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')
  BASE64_CHARS[c.charCodeAt(0)] = 1;
const isBase64At = (text: string, i: number): boolean => BASE64_CHARS[text.charCodeAt(i)] === 1;

/**
 * Whether `text` has a run of `n` base64 characters: no blob rule can match without one, and
 * prose never has one. Reads one character in every `n` until one is a base64 character (a run
 * of `n` covers one of them), then measures the run around it: a few hundred reads for a
 * server's 25 kB of prose, where a regex tried every word start (about 0.4 ms).
 */
export function hasBase64Run(text: string, n: number): boolean {
  let i = n - 1;
  while (i < text.length) {
    if (!isBase64At(text, i)) {
      i += n;
      continue;
    }
    let start = i;
    while (start > 0 && i - start + 1 < n && isBase64At(text, start - 1)) start--;
    let end = i;
    while (end + 1 < text.length && end - start + 1 < n && isBase64At(text, end + 1)) end++;
    if (end - start + 1 >= n) return true;
    // [start, end] is a whole run shorter than n: a run of n lies past the character after it.
    i = end + 1 + n;
  }
  return false;
}

const blobGate = (text: string): boolean => hasBase64Run(text, 64);

/** Checked in order; the first six are the classes a human never sees but a model obeys. Output
 * taint (injection.ts) reuses the instruction-override and hidden-markup rules. */
const RULES: Rule[] = [
  { id: 'unicode-tags', severity: 'high', re: /[\u{E0000}-\u{E007F}]+/u },
  { id: 'bidi-control', severity: 'high', re: /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/ },
  { id: 'zero-width', severity: 'medium', re: /[\u200B-\u200D\u2060\u2062-\u2064\uFEFF\u180E]/ },
  {
    id: 'override-instructions',
    severity: 'high',
    re: /\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier|other|system|user'?s?)\s+(?:instructions?|prompts?|directions?|rules|messages?)/i,
  },
  {
    id: 'conceal-from-user',
    severity: 'high',
    re: /\b(?:do\s+not|don'?t|never|must\s+not)\s+(?:tell|inform|mention|reveal|disclose|notify|alert|show|let)\b[^.]{0,40}\b(?:user|human|them)\b|\bwithout\s+(?:telling|informing|notifying|alerting|asking)\s+the\s+(?:user|human)\b|\bdo\s+not\s+mention\s+(?:this|that|it)\b/i,
  },
  {
    id: 'hidden-markup',
    severity: 'high',
    re: /<\s*\/?\s*(?:important|system|instructions?|secret|hidden|admin|critical|override|context)\s*>/i,
  },
  {
    id: 'sensitive-file',
    severity: 'high',
    re: /(?:~|\$HOME|\/home\/\w+|\/root)\/\.(?:ssh|aws|gnupg|kube|docker|cursor|config\/gh)\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|(?:^|[\s'"`(/])\.env(?:\.\w+)?\b|\bmcp\.json\b|\/etc\/(?:passwd|shadow)\b|\.(?:netrc|npmrc|pypirc|git-credentials)\b|\bauthorized_keys\b/i,
  },
  {
    id: 'exfiltrate-data',
    severity: 'high',
    re: /\b(?:pass|send|include|put|attach|append|provide|add)\s+(?:its|their|the|all|your|this)?\s*(?:full\s+|entire\s+|complete\s+)?(?:contents?|text|conversation|chat history|system prompt|credentials?|secrets?|api[ _-]?keys?|tokens?|passwords?)\b[^.]{0,60}\b(?:as|in|into|to)\b|\b(?:entire|full|whole|complete|previous)\s+(?:conversation|chat\s+history|message\s+history)\b|\b(?:full|entire|complete)\s+list\s+of\s+(?:\w+\s+){0,2}(?:messages|chats|emails|contacts|files)\b|\bsystem\s+prompt\b/i,
  },
  {
    id: 'read-before-use',
    severity: 'high',
    re: /\bbefore\s+(?:using|calling|invoking|running)\s+(?:this|the|any)\b[^.]{0,40}\b(?:read|open|fetch|cat|load|call|run|send)\b|\botherwise\s+the\s+tool\s+will\s+not\s+work\b/i,
  },
  {
    id: 'cross-tool-steering',
    severity: 'medium',
    re: /\b(?:when|whenever|if)\s+(?:using|calling|invoking|you\s+(?:use|call))\s+(?:the\s+)?[`'"]?[\w.-]+[`'"]?\s+tool\b|\bside\s+effects?\s+on\b|\b(?:also\s+present|other)\s+[`'"]?[\w.-]+[`'"]?\s+tool\s+(?:must|should|will)\b|\binstead\s+of\s+(?:using\s+)?(?:the\s+)?[`'"]?[\w.-]+[`'"]?\s+tool\b|\b(?:all|every)\s+(?:emails?|messages?|requests?|payments?)\s+(?:must|should)\s+(?:be\s+)?(?:sent|forwarded|redirected|routed)\s+to\b/i,
  },
  {
    id: 'base64-blob',
    severity: 'medium',
    re: /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{80,}={0,2}/,
    gate: blobGate,
  },
  { id: 'hex-blob', severity: 'medium', re: /\b[0-9a-fA-F]{64,}\b/, gate: blobGate },
  {
    id: 'credential-mention',
    severity: 'low',
    re: /\b(?:private\s+key|api[ _-]?key|access\s+token|password|credentials?)\b/i,
  },
];

/** The pattern of one rule (for scanners of other text that look for the same thing). */
export function poisonPattern(id: 'override-instructions' | 'hidden-markup'): RegExp {
  return RULES.find((r) => r.id === id)!.re;
}

/** Invisible and control characters spelled `<U+XXXX>`, the rest kept; at most 120 chars. */
export function sanitizeExcerpt(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const invisible =
      cp < 0x20 ||
      (cp >= 0x7f && cp < 0xa0) ||
      (cp >= 0x200b && cp <= 0x200f) ||
      (cp >= 0x202a && cp <= 0x202e) ||
      (cp >= 0x2060 && cp <= 0x2069) ||
      cp === 0xfeff ||
      cp === 0x061c ||
      cp === 0x180e ||
      (cp >= 0xe0000 && cp <= 0xe007f);
    out += invisible ? `<U+${cp.toString(16).toUpperCase().padStart(4, '0')}>` : ch;
    if (out.length >= 120) return out.slice(0, 117) + '...';
  }
  return out;
}

/** Context around a match, so a reviewer sees what the phrase is part of. */
function excerptOf(text: string, index: number, length: number): string {
  const start = Math.max(0, index - 20);
  const end = Math.min(text.length, index + length + 20);
  return sanitizeExcerpt((start > 0 ? '…' : '') + text.slice(start, end) + (end < text.length ? '…' : ''));
}

/** One step of the path to a string in a definition, linked to its parent's. */
interface PathStep {
  parent: PathStep | null;
  key: string | number;
}

/** `inputSchema.properties.note.description`, `inputSchema.required[0]`: built only for a finding. */
function pathText(step: PathStep | null): string {
  const keys: (string | number)[] = [];
  for (let s = step; s !== null; s = s.parent) keys.push(s.key);
  let out = '';
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i]!;
    out += typeof k === 'number' ? `[${k}]` : i === keys.length - 1 ? k : `.${k}`;
  }
  return out;
}

interface Segment {
  start: number;
  end: number;
  tool: string;
  at: PathStep | null;
}

const SEPARATOR = ' \n ';

/** Strings laid end to end, each remembered by its span, so one regex pass covers them all. */
class Corpus {
  private readonly parts: string[] = [];
  private length = 0;
  readonly segs: Segment[] = [];
  add(tool: string, at: PathStep | null, s: string): void {
    if (this.parts.length > 0) this.length += SEPARATOR.length;
    this.segs.push({ start: this.length, end: this.length + s.length, tool, at });
    this.parts.push(s);
    this.length += s.length;
  }
  /** The strings joined (one flat string, built once, for every rule to run over). */
  text(): string {
    return this.parts.join(SEPARATOR);
  }
  /** The segment holding offset i (binary search), or null inside a separator. */
  at(i: number): Segment | null {
    let lo = 0;
    let hi = this.segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const sg = this.segs[mid]!;
      if (i < sg.start) hi = mid - 1;
      else if (i >= sg.end) lo = mid + 1;
      else return sg;
    }
    return null;
  }
}

/**
 * Property names that are the vocabulary of a definition and of JSON Schema. No rule can match
 * one of these words on its own, so they are left out of the labels: in a typical schema they
 * are most of its keys, and scanning them would double the text every rule runs over.
 */
const VOCABULARY = new Set([
  ...['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  ...['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'],
  ...['type', 'properties', 'required', 'items', 'enum', 'const', 'default', 'examples', 'format'],
  ...['additionalProperties', 'patternProperties', 'minimum', 'maximum', 'minLength', 'maxLength'],
  ...['minItems', 'maxItems', 'pattern', 'anyOf', 'oneOf', 'allOf', 'not', '$schema', '$ref', '$defs'],
  ...['definitions', 'exclusiveMinimum', 'exclusiveMaximum', 'uniqueItems', 'nullable'],
]);

/**
 * Every string of a definition into `prose`, and its name and property names (models read
 * them too) into `labels`, each with the path it was found at. Numbers, booleans and nulls
 * hold no text: they are not visited.
 */
function collect(
  tool: string,
  v: JsonValue,
  at: PathStep | null,
  prose: Corpus,
  labels: Corpus,
  depth: number,
): void {
  if (depth > 64) return;
  if (typeof v === 'string') prose.add(tool, at, v);
  else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (typeof x === 'string' || (x !== null && typeof x === 'object'))
        collect(tool, x, { parent: at, key: i }, prose, labels, depth + 1);
    }
  } else if (v !== null && typeof v === 'object')
    for (const k of Object.keys(v)) {
      const x = v[k]!;
      const step: PathStep = { parent: at, key: k };
      if (depth === 0 && k === 'name') labels.add(tool, step, x as string);
      else {
        if (!VOCABULARY.has(k)) labels.add(tool, step, k);
        if (typeof x === 'string' || (x !== null && typeof x === 'object'))
          collect(tool, x, step, prose, labels, depth + 1);
      }
    }
}

const MAX_MATCHES_PER_RULE = 32;
const GLOBAL_RULES = RULES.map((r) => ({ ...r, re: new RegExp(r.re.source, r.re.flags + 'g') }));

/**
 * Each rule runs once over the corpus. A match inside one string is that tool's finding; one
 * that spans tools is a payload split across them (tool null), reported only where `split`.
 */
function scanCorpus(c: Corpus, split: boolean, into: PoisonFinding[], seen: Set<string>): void {
  const text = c.text();
  const gates = new Map<(text: string) => boolean, boolean>();
  for (const r of GLOBAL_RULES) {
    if (r.gate) {
      let open = gates.get(r.gate);
      if (open === undefined) gates.set(r.gate, (open = r.gate(text)));
      if (!open) continue;
    }
    r.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    for (let n = 0; n < MAX_MATCHES_PER_RULE && (m = r.re.exec(text)) !== null; n++) {
      if (m[0].length === 0) r.re.lastIndex++;
      const a = c.at(m.index) ?? c.at(m.index + 1);
      const b = c.at(m.index + m[0].length - 1) ?? c.at(m.index + m[0].length - 2);
      if (!a || !b) continue;
      const sameTool = a.tool === b.tool;
      if (!sameTool && !split) continue;
      const tool = sameTool ? a.tool : null;
      const where = sameTool ? pathText(a.at) : 'all tools';
      const key = `${r.id}\0${tool ?? ''}\0${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      into.push({
        rule: r.id,
        severity: r.severity,
        tool,
        where,
        excerpt: excerptOf(text, m.index, m[0].length),
      });
    }
  }
}

/**
 * Findings per tool, plus those that appear only when the whole server's prose is read in one
 * go (a payload split across tools), reported with `tool: null`. Names and property names are
 * scanned on their own, never joined with their neighbours.
 */
export function scanServer(defs: ToolDefinition[]): PoisonFinding[] {
  const prose = new Corpus();
  const labels = new Corpus();
  for (const d of defs) collect(d.name, d, null, prose, labels, 0);
  const out: PoisonFinding[] = [];
  const seen = new Set<string>();
  scanCorpus(prose, true, out, seen);
  scanCorpus(labels, false, out, seen);
  if (!out.some((f) => f.tool === null)) return out;
  const perTool = new Set(out.filter((f) => f.tool !== null).map((f) => f.rule));
  return out.filter((f) => f.tool !== null || !perTool.has(f.rule));
}

/** Findings that make a definition poisoned (low ones are only recorded). */
export function isPoisoning(f: PoisonFinding): boolean {
  return f.severity !== 'low';
}
