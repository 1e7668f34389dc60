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
    expect(links.refusal(poll('task-1', { principal: 'token:alice', sessionId: 's1' }))).toBeNull();
    expect(links.refusal(poll('task-1', { principal: 'token:bob', sessionId: 's1' }))).toMatch(
      /not one this client created/,
    );
    expect(links.refusal(poll('task-1', { principal: 'token:alice', sessionId: 's2' }))).toMatch(
      /another session/,
    );
    expect(links.refusal(poll('task-1', { principal: 'token:alice' }))).toBeNull();
    // Outside gov serve a task gov did not see created (an earlier run's) goes on.
    expect(links.refusal(poll('task-unknown'))).toBeNull();
  });

  it('under gov serve: an unknown task is refused, and tasks/list keeps only the client’s own', () => {
    const links = new TaskLinks();
    const alice = { principal: 'token:alice', transport: 'gateway' } as const;
    const bob = { principal: 'token:bob', transport: 'gateway' } as const;
    links.remember(from(alice), 'a1', 'call-1');
    links.remember(from(bob), 'b1', 'call-2');
    // The same words for an unknown task and another principal's: whose ids exist is not told.
    const refused = (id: string) =>
      `task "${id}" is not one this client created through gov (gov serve forwards tasks/* requests only for those)`;
    expect(links.refusal(poll('nobody-made-this', bob))).toBe(refused('nobody-made-this'));
    expect(links.refusal(poll('a1', bob))).toBe(refused('a1'));
    const numbered = poll('x', bob);
    numbered.message = { kind: 'request', id: 1, method: 'tasks/get', params: { taskId: 1 }, raw: {} };
    expect(links.refusal(numbered)).toMatch(/names no task id/);
    expect(links.refusal({ ...numbered, method: 'tasks/list' })).toBeNull();
    const result = { tasks: [{ taskId: 'a1' }, { taskId: 'b1' }, { taskId: 'x' }, 'junk'], nextCursor: 'c' };
    expect(links.ownTasks(from(alice), result)).toEqual({ tasks: [{ taskId: 'a1' }], nextCursor: 'c' });
    expect(links.ownTasks(from(bob), result)).toEqual({ tasks: [{ taskId: 'b1' }], nextCursor: 'c' });
    expect(links.ownTasks(from(), result)).toBe(result);
    // --auth none: a task created in a session is that session's, not any sessionless caller's.
    links.remember(from({ transport: 'gateway', sessionId: 's1' }), 'n1', 'call-3');
    expect(links.refusal(poll('n1', { transport: 'gateway', sessionId: 's1' }))).toBeNull();
    expect(links.refusal(poll('n1', { transport: 'gateway' }))).toMatch(/another session/);
  });

  it('forgets a principal’s oldest links past its own bound, not another principal’s', () => {
    const links = new TaskLinks();
    links.remember(from({ principal: 'token:alice' }), 'a1', 'call-a');
    for (let i = 0; i <= 10_000; i++) links.remember(from({ principal: 'token:bob' }), `b${i}`, `call-${i}`);
    expect(links.creatorOf(server, 'a1')).toBe('call-a');
    expect(links.creatorOf(server, 'b0')).toBeUndefined();
    expect(links.creatorOf(server, 'b1')).toBe('call-1');
  });
});
