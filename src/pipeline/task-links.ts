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

/** Who may go on with a task: the client (principal, session) whose call created it. */
type Owner = Pick<Envelope, 'principal' | 'sessionId'>;

/**
 * Which call (its decision record's audit id) created each task, per server, and for which
 * client. gov serve strips the client's credential, so the server sees every principal as one:
 * gov is where a task is kept to the client that created it.
 */
export class TaskLinks {
  private readonly creators = new Map<string, { callId: string; owner: Owner }>();

  private static key(server: ServerIdentity, taskId: string): string {
    return `${server.url}\n${taskId}`;
  }

  remember(env: Envelope, taskId: string, callId: string): void {
    const key = TaskLinks.key(env.server, taskId);
    this.creators.delete(key);
    this.creators.set(key, { callId, owner: { principal: env.principal, sessionId: env.sessionId } });
    if (this.creators.size > LINK_LIMIT) this.creators.delete(this.creators.keys().next().value!);
  }

  creatorOf(server: ServerIdentity, taskId: string): string | undefined {
    return this.creators.get(TaskLinks.key(server, taskId))?.callId;
  }

  /** Why `env` (a `tasks/*` request) may not go on with the task it names, or null. */
  foreign(env: Envelope): string | null {
    const taskId = namedTaskId(env);
    const owner =
      taskId === undefined ? undefined : this.creators.get(TaskLinks.key(env.server, taskId))?.owner;
    if (!owner) return null;
    const session =
      owner.sessionId === undefined || env.sessionId === undefined || owner.sessionId === env.sessionId;
    if (owner.principal === env.principal && session) return null;
    return `task ${JSON.stringify(taskId)} was created by another client${owner.principal !== env.principal ? ' (another principal)' : ' (another session)'}`;
  }
}
