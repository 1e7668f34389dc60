import { describe, expect, it } from 'vitest';
import { AnsweredByGov } from '../../src/pipeline/answered-by-gov.js';

describe('AnsweredByGov: server requests gov denied and answered itself', () => {
  it('drops every client answer to one, in its scope only, until the server reuses the id', () => {
    const a = new AnsweredByGov();
    a.answered(5, 'session-A');
    expect(a.has(5, 'session-A')).toBe(true);
    // Not once: a client that sends its forged answer twice is dropped twice.
    expect(a.has(5, 'session-A')).toBe(true);
    expect(a.has(5, 'session-B')).toBe(false);
    expect(a.has(6, 'session-A')).toBe(false);
    expect(a.has(null, 'session-A')).toBe(false);
    // The server asks again under the same id and gov relays it: the client answers that one.
    a.relayed(5, 'session-B');
    expect(a.has(5, 'session-A')).toBe(true);
    a.relayed(5, 'session-A');
    expect(a.has(5, 'session-A')).toBe(false);
    expect(a.size).toBe(0);
  });

  it('takes a string that reads as the number for the number (an SDK server looks answers up by Number(id))', () => {
    const a = new AnsweredByGov();
    a.answered(0);
    for (const id of [0, '0', '00', ' 0 ', '0x0', '0.0', '-0'])
      expect(a.has(id), JSON.stringify(id)).toBe(true);
    expect(a.has('zero')).toBe(false);
    a.answered('srv-1');
    expect(a.has('srv-1')).toBe(true);
    expect(a.has('SRV-1')).toBe(false);
    a.answered('7');
    expect(a.has(7)).toBe(true);
    // Not an id: nothing remembered.
    a.answered(null);
    a.answered({ id: 1 });
    a.answered(Number.NaN);
    expect(a.size).toBe(3);
  });

  it('is bounded: past the limits the oldest ids, then the least recently used scopes, are forgotten', () => {
    const a = new AnsweredByGov({ ids: 3, scopes: 2 });
    for (let id = 0; id < 10; id++) a.answered(id, 'hostile');
    expect(a.size).toBe(3);
    expect([7, 8, 9].every((id) => a.has(id, 'hostile'))).toBe(true);
    expect(a.has(6, 'hostile')).toBe(false);
    a.answered(1, 'other');
    a.answered(10, 'hostile'); // hostile is now the most recently used scope
    a.answered(1, 'third');
    expect(a.has(1, 'other')).toBe(false);
    expect(a.has(10, 'hostile')).toBe(true);
    expect(a.has(1, 'third')).toBe(true);
  });
});
