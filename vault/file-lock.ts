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
function breakStale(path: string, staleContent: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return;
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
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<HeldLock> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const staleMs = opts.staleMs ?? 30_000;
  const token = `${process.pid}\n${hostname()}\n${randomBytes(8).toString('hex')}\n${Date.now()}\n`;
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
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
    try {
      const content = readFileSync(path, 'utf8');
      const st = statSync(path);
      // An empty file may be a lock whose owner has not written its token yet: only age decides.
      if (content === '' ? Date.now() - st.mtimeMs > staleMs : isStale(content, st.mtimeMs, staleMs)) {
        breakStale(path, content);
        continue;
      }
    } catch {
      continue; // vanished between open and read: just retry
    }
    if (Date.now() >= deadline) {
      throw new GovError('vault', `the vault is locked by another gov process (${path})`, {
        hint: 'retry in a moment; if no gov is running, delete the lock file',
      });
    }
    await sleep(delay + Math.floor(Math.random() * delay));
    delay = Math.min(delay * 2, 100);
  }
}
