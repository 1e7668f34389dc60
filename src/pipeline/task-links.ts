/**
 * Tasks: a request answered with a task (2025-11-25 `CreateTaskResult` `{ task: { taskId } }`;
 * the 2026 tasks extension's `{ resultType: "task", taskId }`) goes on in later `tasks/*`
 * requests that name the task. The audit links those back to the call that created it.
 */
import { isPlainObject, type Envelope, type JsonValue, type ServerIdentity } from '../types.js';

// Task links remembered per principal (oldest forgotten first), so one client that creates
// many tasks forgets only its own; and in all, for as many principals as there are.
const LINK_LIMIT = 10_000;
const TOTAL_LINK_LIMIT = 100_000;

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
 * `env`'s client is the owner: its principal, and its session when both have one. Under
 * gov serve a task created in a session is that session's: with `--auth none` every client is
 * the same principal, and a request outside any session could be any of them.
 */
function sameClient(owner: Owner, env: Envelope): boolean {
  const session =
    owner.sessionId === undefined ||
    owner.sessionId === env.sessionId ||
    (env.sessionId === undefined && env.transport !== 'gateway');
  return owner.principal === env.principal && session;
}

/**
 * Which call (its decision record's audit id) created each task, per server, and for which
 * client. gov serve strips the client's credential, so the server sees every principal as one:
 * gov is where a task is kept to the client that created it. There a client names only tasks
 * gov saw it create, and lists only those.
 */
export class TaskLinks {
  private readonly creators = new Map<string, { callId: string; owner: Owner }>();
  /** Each principal's links ('' without one), oldest first. */
  private readonly byPrincipal = new Map<string, Set<string>>();

  private static key(server: ServerIdentity, taskId: string): string {
    return `${server.url}\n${taskId}`;
  }

  remember(env: Envelope, taskId: string, callId: string): void {
    const key = TaskLinks.key(env.server, taskId);
    this.forget(key);
    this.creators.set(key, { callId, owner: { principal: env.principal, sessionId: env.sessionId } });
    const who = env.principal ?? '';
    let mine = this.byPrincipal.get(who);
    if (mine === undefined) this.byPrincipal.set(who, (mine = new Set()));
    mine.add(key);
    if (mine.size > LINK_LIMIT) this.forget(mine.values().next().value!);
    if (this.creators.size > TOTAL_LINK_LIMIT) this.forget(this.creators.keys().next().value!);
  }

  private forget(key: string): void {
    const link = this.creators.get(key);
    if (!link) return;
    this.creators.delete(key);
    const who = link.owner.principal ?? '';
    const mine = this.byPrincipal.get(who);
    mine?.delete(key);
    if (mine?.size === 0) this.byPrincipal.delete(who);
  }

  creatorOf(server: ServerIdentity, taskId: string): string | undefined {
    return this.creators.get(TaskLinks.key(server, taskId))?.callId;
  }

  /**
   * Why `env` (a `tasks/*` request) may not go on with the task it names, or null. Under
   * gov serve a task gov has no record of is refused like another principal's (and in the
   * same words: which ids other principals hold is not told).
   */
  refusal(env: Envelope): string | null {
    const taskId = namedTaskId(env);
    if (taskId === undefined) {
      // A server may read a task id that is not a string (a number) as one: nothing to check.
      const unchecked =
        env.transport === 'gateway' &&
        env.method.startsWith('tasks/') &&
        env.method !== 'tasks/list' &&
        env.message.kind === 'request';
      return unchecked ? `${env.method} names no task id (a string) that gov can check` : null;
    }
    const owner = this.creators.get(TaskLinks.key(env.server, taskId))?.owner;
    const named = `task ${JSON.stringify(taskId)}`;
    if (owner === undefined || owner.principal !== env.principal) {
      if (owner === undefined && env.transport !== 'gateway') return null;
      return `${named} is not one this client created through gov (gov serve forwards tasks/* requests only for those)`;
    }
    return sameClient(owner, env) ? null : `${named} was created by another client (another session)`;
  }

  /** A `tasks/list` result under gov serve, keeping only the tasks `env`'s client created. */
  ownTasks(env: Envelope, result: JsonValue): JsonValue {
    if (env.transport !== 'gateway' || !isPlainObject(result) || !Array.isArray(result['tasks']))
      return result;
    const listed = result['tasks'];
    const own = listed.filter((t) => {
      const id = isPlainObject(t) ? t['taskId'] : undefined;
      const owner =
        typeof id === 'string' ? this.creators.get(TaskLinks.key(env.server, id))?.owner : undefined;
      return owner !== undefined && sameClient(owner, env);
    });
    return own.length === listed.length ? result : { ...result, tasks: own };
  }
}
