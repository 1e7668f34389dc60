import { describe, expect, it } from 'vitest';
import { batchedLines } from '../../cli/call-lines.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('batchedLines', () => {
  it('writes the lines of one event-loop turn in one write, in order', async () => {
    const writes: string[] = [];
    const lines = batchedLines({ write: (t: string) => writes.push(t) });
    lines.write('gov: allow tools/call a (rule default)');
    lines.write('gov: deny tools/call b (rule r1)');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['gov: allow tools/call a (rule default)\ngov: deny tools/call b (rule r1)\n']);
    lines.write('gov: allow tools/call c (rule default)');
    await nextTurn();
    expect(writes[1]).toBe('gov: allow tools/call c (rule default)\n');
    lines.close();
  });

  it('close() writes what is pending at once', () => {
    const writes: string[] = [];
    const lines = batchedLines({ write: (t: string) => writes.push(t) });
    lines.write('gov: approve tools/call x (rule hold)');
    lines.close();
    expect(writes).toEqual(['gov: approve tools/call x (rule hold)\n']);
  });
});
