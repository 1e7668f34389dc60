import { describe, expect, it } from 'vitest';
import { ServerRequestsShown } from '../../src/pipeline/server-requests-shown.js';

describe('ServerRequestsShown: server requests relayed to a client and awaiting its answer', () => {
  it('lets one answer through per request shown, in its scope only', () => {
    const s = new ServerRequestsShown();
    // Never shown: a guessed id (an SDK server's next request) is not awaited.
    expect(s.take(0, 'session-A')).toBe(false);
    s.shown(0, 'session-A');
    expect(s.take(0, 'session-B')).toBe(false);
    expect(s.take(1, 'session-A')).toBe(false);
    expect(s.take(null, 'session-A')).toBe(false);
    expect(s.take(0, 'session-A')).toBe(true);
    // Consumed: a second answer is not awaited.
    expect(s.take(0, 'session-A')).toBe(false);
    expect(s.size).toBe(0);
    // The server asks again under the same id: the client answers that one too.
    s.shown(0, 'session-A');
    expect(s.take(0, 'session-A')).toBe(true);
  });

  it('awaits no answer to a request gov denied, even under the id of one it showed', () => {
    const s = new ServerRequestsShown();
    s.withheld(3, 'a');
    expect(s.take(3, 'a')).toBe(false);
    s.shown(4, 'a');
    s.withheld(4, 'a');
    expect(s.take(4, 'a')).toBe(false);
    s.withheld(5, 'a'); // nothing to forget: harmless
    expect(s.size).toBe(0);
  });

  it('takes a string that reads as the number for the number (an SDK server looks answers up by Number(id))', () => {
    for (const id of [0, '0', '00', ' 0 ', '0x0', '0.0', '-0']) {
      const s = new ServerRequestsShown();
      s.shown(0);
      expect(s.take(id), JSON.stringify(id)).toBe(true);
    }
    const s = new ServerRequestsShown();
    s.shown('srv-1');
    expect(s.take('SRV-1')).toBe(false);
    expect(s.take('srv-1')).toBe(true);
    s.shown('7');
    expect(s.take(7)).toBe(true);
    expect(s.take('zero')).toBe(false);
    // Not an id: nothing remembered.
    s.shown(null);
    s.shown({ id: 1 });
    s.shown(Number.NaN);
    expect(s.size).toBe(0);
  });

  it('is bounded: past the limits the oldest ids, then the least recently used scopes, are forgotten', () => {
    const s = new ServerRequestsShown({ ids: 3, scopes: 2 });
    for (let id = 0; id < 10; id++) s.shown(id, 'busy');
    expect(s.size).toBe(3);
    expect(s.take(6, 'busy')).toBe(false);
    s.shown(1, 'other');
    s.shown(10, 'busy'); // busy is now the most recently used scope
    s.shown(1, 'third');
    expect(s.size).toBe(4);
    expect(s.take(1, 'other')).toBe(false);
    expect(s.take(1, 'third')).toBe(true);
    expect([8, 9, 10].every((id) => s.take(id, 'busy'))).toBe(true);
    expect(s.size).toBe(0);
  });
});
