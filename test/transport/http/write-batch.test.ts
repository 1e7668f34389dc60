import { describe, expect, it } from 'vitest';
import { WriteBatch } from '../../../src/transport/http/write-batch.js';

describe('WriteBatch', () => {
  it('joins adjacent views of one chunk without copying, and keeps the order of text and bytes', () => {
    const chunk = Buffer.from('aaa|bbb|ccc|ddd');
    const b = new WriteBatch();
    expect(b.take()).toBeNull();
    b.add(chunk.subarray(0, 4));
    b.add(chunk.subarray(4, 8));
    const joined = b.take() as Buffer;
    expect(joined.toString()).toBe('aaa|bbb|');
    expect(joined.buffer).toBe(chunk.buffer); // a view, not a copy
    b.add(chunk.subarray(0, 4));
    b.add('é-text|');
    b.add(chunk.subarray(8, 12)); // not adjacent to the first view
    b.add(chunk.subarray(12));
    b.add('');
    expect((b.take() as Buffer).toString()).toBe('aaa|é-text|ccc|ddd');
    expect(b.take()).toBeNull();
  });

  it('does not join views of different chunks that happen to be adjacent by offset', () => {
    const one = Buffer.from('xx');
    const two = Buffer.from('yy');
    const b = new WriteBatch();
    b.add(one);
    b.add(two.subarray(0, 2));
    expect((b.take() as Buffer).toString()).toBe('xxyy');
  });
});
