/**
 * Redacting a raw text stream whose chunks may split a secret. The proxy parses SSE into
 * complete events before scanning; this is for streams without such framing. The last
 * `holdBack` characters (at least the longest secret form searched for) are kept back
 * until the next chunk shows how they continue; a match that reaches the end of what has
 * arrived is held whole, since more of it may follow.
 */
import { applySpans, mergeCounts, type RedactionCounts, type Redactor } from './redact.js';

export interface StreamRedactor {
  /** Redacted text that is safe to emit now (possibly empty). */
  push(chunk: string): string;
  /** Everything still held, redacted; the stream is over. */
  flush(): string;
  /** Redactions so far, by kind. */
  readonly counts: RedactionCounts;
}

export interface StreamRedactorOptions {
  /** Characters kept back between chunks; default: the longest vault form, at least 512. */
  holdBack?: number;
  /** Above this many held characters text is emitted even if a match might continue (default 1 MiB). */
  maxHeld?: number;
}

export const DEFAULT_HOLD_BACK = 512;

export function createStreamRedactor(redactor: Redactor, opts: StreamRedactorOptions = {}): StreamRedactor {
  const holdBack = Math.max(opts.holdBack ?? Math.max(DEFAULT_HOLD_BACK, redactor.maxLiteralLength), 0);
  const maxHeld = Math.max(opts.maxHeld ?? 1 << 20, holdBack);
  const counts: RedactionCounts = {};
  let pending = '';

  return {
    counts,
    push(chunk) {
      if (chunk === '') return '';
      pending += chunk;
      if (pending.length <= holdBack) return '';
      const spans = redactor.scan(pending);
      let cut = pending.length - holdBack;
      for (const sp of spans) {
        // A match crossing the cut, or touching the end (it may grow), is held whole.
        if (sp.start < cut && (sp.end > cut || sp.end === pending.length)) {
          cut = sp.start;
          break;
        }
      }
      if (cut <= 0 && pending.length <= maxHeld) return '';
      if (cut <= 0) cut = pending.length - holdBack;
      const local: RedactionCounts = {};
      // Spans are sorted and disjoint; none crosses the cut by construction.
      const out = applySpans(pending, spans, local, cut);
      mergeCounts(counts, local);
      pending = pending.slice(Math.max(cut, lastEndBefore(spans, cut)));
      return out;
    },
    flush() {
      const { text, counts: local } = redactor.redactString(pending);
      pending = '';
      mergeCounts(counts, local);
      return text;
    },
  };
}

/** When the forced cut falls inside a span, the span was emitted redacted: skip its rest. */
function lastEndBefore(spans: { start: number; end: number }[], cut: number): number {
  let end = cut;
  for (const sp of spans) {
    if (sp.start >= cut) break;
    if (sp.end > end) end = sp.end;
  }
  return end;
}
