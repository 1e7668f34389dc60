import { describe, expect, it } from 'vitest';
import { FlushGate } from '../../../src/transport/stdio/flush-gate.js';

describe('FlushGate (--audit-sync answer on stdio)', () => {
  it('passes lines at once while nothing is being flushed', () => {
    const out: string[] = [];
    new FlushGate().pass('a', (t) => out.push(t));
    expect(out).toEqual(['a']);
  });

  it('holds server lines until the forwarded calls are on disk, in order', async () => {
    const gate = new FlushGate();
    const out: string[] = [];
    let flush: (why: string | null) => void = () => undefined;
    gate.forwarded(new Promise((r) => (flush = r)));
    gate.pass('a', (t) => out.push(t));
    gate.pass('b', (t) => out.push(t));
    await Promise.resolve();
    expect(out).toEqual([]);
    flush(null);
    await gate.drained();
    gate.pass('c', (t) => out.push(t));
    expect(out).toEqual(['a', 'b', 'c']);
  });

  it('answers with an error for the same id when the record could not be flushed', async () => {
    const gate = new FlushGate();
    const out: string[] = [];
    gate.forwarded(Promise.resolve('EIO'));
    gate.pass('{"jsonrpc":"2.0","id":7,"result":{"content":[]}}', (t) => out.push(t));
    await gate.drained();
    expect(JSON.parse(out[0]!)).toMatchObject({
      id: 7,
      error: { code: -32603, message: expect.stringMatching(/could not be flushed to disk: EIO/) },
    });
  });
});
