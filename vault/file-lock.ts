/**
 * A lock file beside the vault so concurrent writers serialise: created with O_EXCL,
 * retried with bounded backoff, and broken only when provably stale (its process is gone
 * on this host, or it is older than any real critical section).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  constants,
} from 'node:fs';
import { hostname } from 'node:os';
import { GovError } from '../src/errors.js';
import { processExists } from '../src/pid.js';

export interface LockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** A lock older than this is stale whatever its owner (default 30 s). */
  staleMs?: number;
  /** What the lock guards, for the error (default "the vault"). */
  what?: string;
}

export interface HeldLock {
  release(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function isStale(content: string, mtimeMs: number, staleMs: number): boolean {
  if (Date.now() - mtimeMs > staleMs) return true;
  const [pidText, host] = content.split('\n');
  const pid = Number(pidText);
  return host === hostname() && Number.isInteger(pid) && pid > 0 && !processExists(pid);
}

/**
 * Break a stale lock without ever removing a live one: move it aside atomically, then
 * check that what we moved is the stale lock we inspected; if another process had already
 * replaced it, put theirs back (link fails rather than clobbering a newer lock).
 */
function breakStale(path: string, staleContent: string): boolean {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    // unreadable: treat as the stale one
    moved = staleContent;
  }
  if (moved !== staleContent) {
    try {
      linkSync(aside, path);
    } catch {
      // someone holds a newer lock already; theirs wins
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // gone
  }
  return true;
}

/**
 * One attempt: the lock, or null while a live holder has it (a stale one is broken first).
 * Bounded: a lock that cannot be broken (no rights to the directory) waits like a live one,
 * and a path that is no file (a directory) is an error, never a busy loop.
 */
function tryAcquire(path: string, token: string, staleMs: number): HeldLock | null {
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        writeSync(fd, token);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8') === token) unlinkSync(path);
          } catch {
            // already removed (e.g. broken as stale after a very long pause)
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let content: string;
    let mtimeMs: number;
    try {
      content = readFileSync(path, 'utf8');
      mtimeMs = statSync(path).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: retry
      throw new GovError('vault', `cannot use the lock file ${path}: ${(err as Error).message}`, {
        hint: 'it must be a file gov can read; remove whatever is at that path',
      });
    }
    // An empty file may be a lock whose owner has not written its token yet: only age decides.
    const stale = content === '' ? Date.now() - mtimeMs > staleMs : isStale(content, mtimeMs, staleMs);
    if (!stale || !breakStale(path, content)) return null;
  }
  return null;
}

function lockToken(): string {
  return `${process.pid}\n${hostname()}\n${randomBytes(8).toString('hex')}\n${Date.now()}\n`;
}

function lockedError(path: string, opts: LockOptions): GovError {
  const what = opts.what ?? 'the vault';
  return new GovError('vault', `${what} is locked by another gov process (${path})`, {
    hint: 'retry in a moment; if no gov is running, delete the lock file',
  });
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<HeldLock> {
  const staleMs = opts.staleMs ?? 30_000;
  const token = lockToken();
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let delay = 5;
  for (;;) {
    const held = tryAcquire(path, token, staleMs);
    if (held) return held;
    if (Date.now() >= deadline) throw lockedError(path, opts);
    await sleep(delay + Math.floor(Math.random() * delay));
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * The same lock for short critical sections in synchronous code (small JSON files such as
 * pins.json): waits block the thread, so keep what runs under it to a read and a write.
 */
export function acquireLockSync(path: string, opts: LockOptions = {}): HeldLock {
  const staleMs = opts.staleMs ?? 30_000;
  const token = lockToken();
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const waiter = new Int32Array(new SharedArrayBuffer(4));
  let delay = 1;
  for (;;) {
    const held = tryAcquire(path, token, staleMs);
    if (held) return held;
    if (Date.now() >= deadline) throw lockedError(path, opts);
    Atomics.wait(waiter, 0, 0, delay + Math.random() * delay);
    delay = Math.min(delay * 2, 20);
  }
}
