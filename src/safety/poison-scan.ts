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
  gate?: RegExp;
}

/**
 * A run of 64 base64 characters, found by a pattern that fails on the first character inside
 * words (a lookbehind at every offset costs about three times as much): no blob rule can match
 * without it, and ordinary prose never has one.
 */
const BLOB_GATE = /(?:^|[^A-Za-z0-9+/])[A-Za-z0-9+/]{64}/;

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
    gate: BLOB_GATE,
  },
  { id: 'hex-blob', severity: 'medium', re: /\b[0-9a-fA-F]{64,}\b/, gate: BLOB_GATE },
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

interface Segment {
  start: number;
  end: number;
  tool: string;
  /** Where in the definition; built only for a finding (most strings never have one). */
  where: () => string;
}

/** Strings laid end to end, each remembered by its span, so one regex pass covers them all. */
class Corpus {
  text = '';
  readonly segs: Segment[] = [];
  add(tool: string, where: () => string, s: string): void {
    if (this.text) this.text += ' \n ';
    this.segs.push({ start: this.text.length, end: this.text.length + s.length, tool, where });
    this.text += s;
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
 * them too) into `labels`, each with a lazily built path such as
 * `inputSchema.properties.note.description`.
 */
function collect(
  tool: string,
  v: JsonValue,
  path: () => string,
  prose: Corpus,
  labels: Corpus,
  depth: number,
): void {
  if (depth > 64) return;
  if (typeof v === 'string') prose.add(tool, path, v);
  else if (Array.isArray(v))
    for (let i = 0; i < v.length; i++)
      collect(tool, v[i]!, () => `${path()}[${i}]`, prose, labels, depth + 1);
  else if (v !== null && typeof v === 'object')
    for (const k of Object.keys(v)) {
      const p = depth === 0 ? () => k : () => `${path()}.${k}`;
      if (depth === 0 && k === 'name') labels.add(tool, p, v[k] as string);
      else {
        if (!VOCABULARY.has(k)) labels.add(tool, p, k);
        collect(tool, v[k]!, p, prose, labels, depth + 1);
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
  const gates = new Map<RegExp, boolean>();
  for (const r of GLOBAL_RULES) {
    if (r.gate) {
      let open = gates.get(r.gate);
      if (open === undefined) gates.set(r.gate, (open = r.gate.test(c.text)));
      if (!open) continue;
    }
    r.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    for (let n = 0; n < MAX_MATCHES_PER_RULE && (m = r.re.exec(c.text)) !== null; n++) {
      if (m[0].length === 0) r.re.lastIndex++;
      const a = c.at(m.index) ?? c.at(m.index + 1);
      const b = c.at(m.index + m[0].length - 1) ?? c.at(m.index + m[0].length - 2);
      if (!a || !b) continue;
      const sameTool = a.tool === b.tool;
      if (!sameTool && !split) continue;
      const tool = sameTool ? a.tool : null;
      const where = sameTool ? a.where() : 'all tools';
      const key = `${r.id}\0${tool ?? ''}\0${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      into.push({
        rule: r.id,
        severity: r.severity,
        tool,
        where,
        excerpt: excerptOf(c.text, m.index, m[0].length),
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
  for (const d of defs) collect(d.name, d, () => '', prose, labels, 0);
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
