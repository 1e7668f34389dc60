import { describe, expect, it } from 'vitest';
import { OrderedRelease } from '../../../src/transport/stdio/ordered-release.js';

describe('OrderedRelease', () => {
  it('releases in arrival order whatever order governance finishes in', () => {
    const out: number[] = [];
    const q = new OrderedRelease();
    const t = [q.open(), q.open(), q.open()];
    t[2]!.settle(() => out.push(2));
    t[1]!.settle(() => out.push(1));
    expect(out).toEqual([]);
    t[0]!.settle(() => out.push(0));
    expect(out).toEqual([0, 1, 2]);
  });

  it('lets later traffic pass a held ticket, which is released on its own when decided', async () => {
    const out: string[] = [];
    const q = new OrderedRelease();
    const held = q.open();
    const next = q.open();
    next.settle(() => out.push('next'));
    expect(out).toEqual([]);
    held.hold();
    expect(out).toEqual(['next']);
    const after = q.open();
    after.settle(() => out.push('after'));
    expect(out).toEqual(['next', 'after']);
    let idle = false;
    void q.idle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    expect(q.inFlight).toBe(1);
    held.settle(() => out.push('held'));
    expect(out).toEqual(['next', 'after', 'held']);
    await Promise.resolve();
    expect(idle).toBe(true);
  });

  it('a held ticket that settles before it reaches the head still waits its turn', () => {
    const out: number[] = [];
    const q = new OrderedRelease();
    const first = q.open();
    const second = q.open();
    second.hold();
    second.settle(() => out.push(2));
    expect(out).toEqual([]);
    first.settle(() => out.push(1));
    expect(out).toEqual([1, 2]);
  });

  it('stays small over many messages', () => {
    const q = new OrderedRelease();
    let n = 0;
    for (let i = 0; i < 10_000; i++) q.open().settle(() => n++);
    expect(n).toBe(10_000);
    expect(q.waiting).toBe(0);
    expect(q.inFlight).toBe(0);
  });

  it('a throwing release does not stop the line', () => {
    const out: number[] = [];
    const q = new OrderedRelease();
    const a = q.open();
    const b = q.open();
    b.settle(() => out.push(2));
    a.settle(() => {
      throw new Error('boom');
    });
    expect(out).toEqual([2]);
  });
});
