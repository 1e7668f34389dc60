import { describe, expect, it } from 'vitest';
import { LegacySessions } from '../../../src/transport/http/legacy-sessions.js';

const ORIGIN = 'http://127.0.0.1:9000';
const inject = () => undefined;

describe('2024-11-05 sessions: what a request URL is to them', () => {
  it("a principal's own session, in any spelling the server routes to it", () => {
    const legacy = new LegacySessions();
    const s = legacy.register(`${ORIGIN}/messages?sessionId=a`, inject, 'alice')!;
    for (const spelling of ['/MESSAGES?sessionId=a', '/messages/?x=1&sessionId=a', '/%6Dessages?sessionId=a'])
      expect(legacy.target(ORIGIN + spelling, 'alice')).toEqual({ kind: 'session', session: s });
    expect(legacy.target(`${ORIGIN}/messages?sessionId=b`, 'alice')).toEqual({ kind: 'none' });
    expect(legacy.target(`${ORIGIN}/sse`, 'alice')).toEqual({ kind: 'none' });
  });

  it("another principal's session is foreign however it is spelled", () => {
    const legacy = new LegacySessions();
    legacy.register(`${ORIGIN}/messages?sessionId=a`, inject, 'alice');
    for (const spelling of [
      '/messages?sessionId=a',
      '/Messages/?sessionId=a&x=1',
      '/messages?sessionId=a&sessionId=z',
    ])
      expect(legacy.target(ORIGIN + spelling, 'bob')).toEqual({ kind: 'foreign' });
  });

  it('a request that may name two sessions, or a session and another value, is ambiguous', () => {
    const legacy = new LegacySessions();
    legacy.register(`${ORIGIN}/messages?sessionId=a`, inject, 'alice');
    legacy.register(`${ORIGIN}/messages?sessionId=b`, inject, 'alice');
    expect(legacy.target(`${ORIGIN}/messages?sessionId=a&sessionId=b`, 'alice')).toEqual({
      kind: 'ambiguous',
    });
    expect(legacy.target(`${ORIGIN}/messages?sessionId=a&sessionId=z`, 'alice')).toEqual({
      kind: 'ambiguous',
    });
    // An endpoint with a query, then one without: a request to the first reaches both.
    expect(legacy.register(`${ORIGIN}/other/?sessionId=c`, inject, 'alice')).not.toBeNull();
    expect(legacy.register(`${ORIGIN}/other`, inject, 'alice')).not.toBeNull();
    expect(legacy.target(`${ORIGIN}/other?sessionId=c`, 'alice')).toEqual({ kind: 'ambiguous' });
  });

  it('an endpoint a live session is reached at is not taken by a second stream', () => {
    const legacy = new LegacySessions();
    expect(legacy.register(`${ORIGIN}/messages?sessionId=a`, inject, 'alice')).not.toBeNull();
    expect(legacy.register(`${ORIGIN}/Messages?sessionId=a&x=1`, inject, 'bob')).toBeNull();
  });

  it('an ended session stays ended in every spelling, until its server announces it anew', () => {
    const legacy = new LegacySessions();
    const s = legacy.register(`${ORIGIN}/messages?sessionId=a`, inject, 'alice')!;
    legacy.end(s);
    expect(legacy.isLive(s)).toBe(false);
    for (const spelling of ['/messages?sessionId=a', '/MESSAGES/?sessionId=a&x=1', '/%6dessages?sessionId=a'])
      expect(legacy.target(ORIGIN + spelling, 'alice')).toEqual({ kind: 'ended' });
    const again = legacy.register(`${ORIGIN}/messages?sessionId=a`, inject, 'alice')!;
    expect(legacy.target(`${ORIGIN}/MESSAGES?sessionId=a`, 'alice')).toEqual({
      kind: 'session',
      session: again,
    });
  });

  it('a closed stream is forgotten, not ended', () => {
    const legacy = new LegacySessions();
    const s = legacy.register(`${ORIGIN}/messages?sessionId=a`, inject, 'alice')!;
    legacy.unregister(s);
    expect(legacy.target(`${ORIGIN}/messages?sessionId=a`, 'alice')).toEqual({ kind: 'none' });
  });

  it('ended endpoints are remembered up to a bound, the oldest forgotten first', () => {
    const legacy = new LegacySessions();
    for (let i = 0; i <= 10_000; i++)
      legacy.end(legacy.register(`${ORIGIN}/messages?sessionId=s${i}`, inject, undefined)!);
    expect(legacy.target(`${ORIGIN}/messages?sessionId=s0`, undefined)).toEqual({ kind: 'none' });
    expect(legacy.target(`${ORIGIN}/messages?sessionId=s1`, undefined)).toEqual({ kind: 'ended' });
    expect(legacy.target(`${ORIGIN}/messages?sessionId=s10000`, undefined)).toEqual({ kind: 'ended' });
  });
});
