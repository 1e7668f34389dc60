/**
 * Tasks: a request answered with a task (2025-11-25 `CreateTaskResult` `{ task: { taskId } }`;
 * the 2026 tasks extension's `{ resultType: "task", taskId }`) goes on in later `tasks/*`
 * requests that name the task. The audit links those back to the call that created it.
 */
import { isPlainObject, type Envelope, type JsonValue, type ServerIdentity } from '../types.js';

// Task links remembered (bounded, oldest forgotten first): a task polled after that many newer
// tasks is still recorded with its id, only without the link to the creating call.
const LINK_LIMIT = 10_000;

/** The id of the task a result creates, if it is a `CreateTaskResult`. */
export function createdTaskId(result: JsonValue | undefined): string | undefined {
  if (!isPlainObject(result)) return undefined;
  const id =
    result['resultType'] === 'task'
      ? result['taskId']
      : isPlainObject(result['task'])
        ? result['task']['taskId']
        : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** The task a `tasks/*` request names (`params.taskId`). */
export function namedTaskId(env: Envelope): string | undefined {
  if (!env.method.startsWith('tasks/') || env.message.kind === 'response') return undefined;
  const params = env.message.params;
  const id = isPlainObject(params) ? params['taskId'] : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** Which call (its decision record's audit id) created each task, per server. */
export class TaskLinks {
  private readonly creators = new Map<string, string>();

  private static key(server: ServerIdentity, taskId: string): string {
    return `${server.url}\n${taskId}`;
  }

  remember(server: ServerIdentity, taskId: string, callId: string): void {
    const key = TaskLinks.key(server, taskId);
    this.creators.delete(key);
    this.creators.set(key, callId);
    if (this.creators.size > LINK_LIMIT) this.creators.delete(this.creators.keys().next().value!);
  }

  creatorOf(server: ServerIdentity, taskId: string): string | undefined {
    return this.creators.get(TaskLinks.key(server, taskId));
  }
}
