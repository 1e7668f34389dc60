/**
 * The lock file gov uses beside the vault, pins.json, the audit key and head.json: it must
 * serialise writers, break only provably stale locks, and never spin on a path that is no
 * lock (a directory put there by a hostile agent used to keep the thread busy for ever).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, acquireLockSync } from '../../vault/file-lock.js';

let dir: string;
let lockPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gov-lock-'));
  lockPath = join(dir, 'x.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited (so no process has it, barring reuse). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return Number(r.stdout);
}

describe('file lock', () => {
  it('a directory at the lock path is an error, not a busy loop (async and sync)', async () => {
    mkdirSync(lockPath);
    await expect(acquireLock(lockPath, { timeoutMs: 1000 })).rejects.toThrow(/cannot use the lock file/);
    expect(() => acquireLockSync(lockPath, { timeoutMs: 1000 })).toThrow(/cannot use the lock file/);
  });

  it('a live holder makes the next writer wait, then give up with a clear error', async () => {
    const held = await acquireLock(lockPath);
    await expect(acquireLock(lockPath, { timeoutMs: 50, what: 'the test file' })).rejects.toThrow(
      /the test file is locked by another gov process/,
    );
    held.release();
    (await acquireLock(lockPath, { timeoutMs: 50 })).release();
    expect(() => readFileSync(lockPath)).toThrow(/ENOENT/);
  });

  it('a lock whose process is gone is broken and taken', async () => {
    writeFileSync(lockPath, `${deadPid()}\n${hostname()}\nabcd\n${Date.now()}\n`);
    const held = await acquireLock(lockPath, { timeoutMs: 1000 });
    expect(readFileSync(lockPath, 'utf8')).toContain(`${process.pid}\n`);
    held.release();
  });

  it("another host's lock is only broken by age", async () => {
    writeFileSync(lockPath, `${deadPid()}\nnot-${hostname()}\nabcd\n${Date.now()}\n`);
    await expect(acquireLock(lockPath, { timeoutMs: 50 })).rejects.toThrow(/locked/);
    (await acquireLock(lockPath, { timeoutMs: 1000, staleMs: 0 })).release();
  });
});
