import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LINE_BATCH_MS, batchedLines } from '../../cli/call-lines.js';

describe('batchedLines', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes the lines of one batch window in one write, in order', () => {
    const writes: string[] = [];
    const lines = batchedLines({ write: (t: string) => writes.push(t) });
    lines.write('gov: allow tools/call a (rule default)');
    vi.advanceTimersByTime(LINE_BATCH_MS - 1);
    lines.write('gov: deny tools/call b (rule r1)');
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(writes).toEqual(['gov: allow tools/call a (rule default)\ngov: deny tools/call b (rule r1)\n']);
    lines.write('gov: allow tools/call c (rule default)');
    vi.advanceTimersByTime(LINE_BATCH_MS);
    expect(writes).toEqual([
      'gov: allow tools/call a (rule default)\ngov: deny tools/call b (rule r1)\n',
      'gov: allow tools/call c (rule default)\n',
    ]);
    lines.close();
  });

  it('close() writes what is pending at once, and nothing after', () => {
    const writes: string[] = [];
    const lines = batchedLines({ write: (t: string) => writes.push(t) });
    lines.write('gov: approve tools/call x (rule hold)');
    lines.close();
    expect(writes).toEqual(['gov: approve tools/call x (rule hold)\n']);
    vi.advanceTimersByTime(LINE_BATCH_MS * 2);
    expect(writes).toHaveLength(1);
  });
});
