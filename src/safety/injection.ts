/**
 * Prompt-injection patterns in what a server returned: text that addresses the model
 * instead of the user ("ignore previous instructions", hidden <IMPORTANT> blocks, …).
 * A hit does not block the output; it taints the run so the policy can tighten (see
 * `run.tainted` in docs/policy.md). Deliberately few, specific patterns: a false positive
 * costs an approval prompt, not a broken call.
 */
import { poisonPattern } from './poison-scan.js';

const PATTERNS: ReadonlyArray<{ name: string; re: RegExp }> = [
  { name: 'ignore-instructions', re: poisonPattern('override-instructions') },
  { name: 'hidden-directive', re: poisonPattern('hidden-markup') },
  { name: 'new-instructions', re: /\b(?:new|updated)\s+instructions\s*:/i },
  {
    name: 'exfiltrate',
    re: /\b(?:send|forward|post|upload|email)\s+(?:all\s+|the\s+|your\s+)?(?:secrets?|credentials|api\s+keys?|tokens?|passwords?|ssh\s+keys?)\s+to\b/i,
  },
];

/** Longest text scanned per message: patterns are in the first part of any real payload. */
const MAX_SCAN_CHARS = 1 << 20;

/**
 * The name of the first injection pattern in what a result says: its strings (keys included)
 * as the model reads them — unescaped, so `ignore\nprevious instructions` matches as it
 * would read — one per line, up to MAX_SCAN_CHARS. Walks the value instead of serialising it,
 * so a 10 MB result costs its first MiB, not a 10 MB JSON.stringify.
 */
export function findInjectionIn(value: unknown): string | null {
  const parts: string[] = [];
  let size = 0;
  const visit = (v: unknown, depth: number): void => {
    if (size >= MAX_SCAN_CHARS || depth > 256) return;
    if (typeof v === 'string') {
      parts.push(v);
      size += v.length + 1;
    } else if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        visit(k, depth + 1);
        visit(x, depth + 1);
      }
    }
  };
  visit(value, 0);
  return findInjection(parts.join('\n'));
}

/** The name of the first injection pattern found in `text`, else null. */
export function findInjection(text: string): string | null {
  const t = text.length > MAX_SCAN_CHARS ? text.slice(0, MAX_SCAN_CHARS) : text;
  for (const p of PATTERNS) if (p.re.test(t)) return p.name;
  return null;
}
