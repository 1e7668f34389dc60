import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LINE_BATCH_MS, batchedLines } from '../../cli/call-lines.js';

describe('batchedLines', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a line at once (after the current turn) when none was written lately', () => {
    const writes: string[] = [];
    const lines = batchedLines({ write: (t: string) => writes.push(t) });
    lines.write('gov: allow tools/call a (rule default)');
    lines.write('gov: deny tools/call b (rule r1)');
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(writes).toEqual(['gov: allow tools/call a (rule default)\ngov: deny tools/call b (rule r1)\n']);
    lines.close();
  });

  it('batches lines that follow a write within the window, and is immediate again after it', () => {
    const writes: string[] = [];
    const lines = batchedLines({ write: (t: string) => writes.push(t) });
    lines.write('gov: allow tools/call a (rule default)');
    vi.advanceTimersByTime(0);
    lines.write('gov: allow tools/call b (rule default)');
    vi.advanceTimersByTime(LINE_BATCH_MS / 2);
    lines.write('gov: allow tools/call c (rule default)');
    expect(writes).toHaveLength(1);
    vi.advanceTimersByTime(LINE_BATCH_MS / 2);
    expect(writes).toEqual([
      'gov: allow tools/call a (rule default)\n',
      'gov: allow tools/call b (rule default)\ngov: allow tools/call c (rule default)\n',
    ]);
    vi.advanceTimersByTime(LINE_BATCH_MS * 2);
    lines.write('gov: deny tools/call d (rule r1)');
    vi.advanceTimersByTime(0);
    expect(writes[2]).toBe('gov: deny tools/call d (rule r1)\n');
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
