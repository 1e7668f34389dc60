import { describe, expect, it } from 'vitest';
import { createdTaskId, TaskLinks } from '../../src/pipeline/task-links.js';

const server = { name: 'tasks', url: 'https://127.0.0.1:1/mcp' };

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
    links.remember(server, 'first', 'call-0');
    expect(links.creatorOf(server, 'first')).toBe('call-0');
    expect(links.creatorOf({ ...server, url: 'https://other/mcp' }, 'first')).toBeUndefined();
    for (let i = 1; i <= 10_000; i++) links.remember(server, `t${i}`, `call-${i}`);
    expect(links.creatorOf(server, 'first')).toBeUndefined();
    expect(links.creatorOf(server, 't1')).toBe('call-1');
    expect(links.creatorOf(server, 't10000')).toBe('call-10000');
  });
});
