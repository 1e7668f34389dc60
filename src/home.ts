import { mkdirSync, chmodSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GovError } from './errors.js';

/** GOV_HOME (default ~/.gov); every piece of gov state lives below it. */
export function govHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env['GOV_HOME'];
  return h && h.length > 0 ? h : join(homedir(), '.gov');
}

/** Create (0700) a directory under GOV_HOME, tightening the mode if it already exists. */
export function ensureDir(path: string): string {
  let st;
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? 'a file is in the way'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EROFS'
            ? 'read-only file system'
            : code;
    throw new GovError('config', `cannot create directory ${path}: ${why}`, {
      hint: 'set GOV_HOME to a writable directory (default ~/.gov)',
    });
  }
  if ((st.mode & 0o077) !== 0) chmodSync(path, 0o700);
  return path;
}

export function homePaths(home: string = govHome()) {
  return {
    home,
    ca: join(home, 'ca'),
    caCert: join(home, 'ca', 'ca.pem'),
    caKey: join(home, 'ca', 'ca-key.pem'),
    caLeaves: join(home, 'ca', 'leaves'),
    vault: join(home, 'vault.json'),
    audit: join(home, 'audit'),
    runs: join(home, 'runs'),
    pins: join(home, 'pins.json'),
    policy: join(home, 'policy.yaml'),
  };
}
export type HomePaths = ReturnType<typeof homePaths>;
