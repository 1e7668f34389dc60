import { describe, expect, it } from 'vitest';
import { createdTaskId, TaskLinks } from '../../src/pipeline/task-links.js';
import type { Envelope } from '../../src/types.js';

const server = { name: 'tasks', url: 'https://127.0.0.1:1/mcp' };
/** A call's envelope as far as task links read it. */
const from = (o: Partial<Envelope> = {}): Envelope => ({ server, ...o }) as Envelope;
const poll = (taskId: string, o: Partial<Envelope> = {}): Envelope =>
  from({
    method: 'tasks/get',
    message: { kind: 'request', id: 1, method: 'tasks/get', params: { taskId }, raw: {} },
    ...o,
  });

describe('task links', () => {
  it('reads the task id of a 2025-11-25 and a 2026 CreateTaskResult, and nothing else', () => {
    expect(createdTaskId({ task: { taskId: 'a', status: 'working' } })).toBe('a');
    expect(createdTaskId({ resultType: 'task', taskId: 'b', status: 'working' })).toBe('b');
    expect(createdTaskId({ resultType: 'complete', taskId: 'c', content: [] })).toBeUndefined();
    expect(createdTaskId({ content: [] })).toBeUndefined();
    expect(createdTaskId(null)).toBeUndefined();
  });

  it('links per server, and forgets the oldest link past its bound', () => {
    const links = new TaskLinks();
    links.remember(from(), 'first', 'call-0');
    expect(links.creatorOf(server, 'first')).toBe('call-0');
    expect(links.creatorOf({ ...server, url: 'https://other/mcp' }, 'first')).toBeUndefined();
    for (let i = 1; i <= 10_000; i++) links.remember(from(), `t${i}`, `call-${i}`);
    expect(links.creatorOf(server, 'first')).toBeUndefined();
    expect(links.creatorOf(server, 't1')).toBe('call-1');
    expect(links.creatorOf(server, 't10000')).toBe('call-10000');
  });

  it('keeps a task to the client that created it: its principal, and its session when both have one', () => {
    const links = new TaskLinks();
    links.remember(from({ principal: 'token:alice', sessionId: 's1' }), 'task-1', 'call-1');
    expect(links.foreign(poll('task-1', { principal: 'token:alice', sessionId: 's1' }))).toBeNull();
    expect(links.foreign(poll('task-1', { principal: 'token:bob', sessionId: 's1' }))).toMatch(
      /another principal/,
    );
    expect(links.foreign(poll('task-1', { principal: 'token:alice', sessionId: 's2' }))).toMatch(
      /another session/,
    );
    expect(links.foreign(poll('task-1', { principal: 'token:alice' }))).toBeNull();
    expect(links.foreign(poll('task-unknown', { principal: 'token:bob' }))).toBeNull();
  });
});
