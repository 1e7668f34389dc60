import { mkdirSync, chmodSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** GOV_HOME (default ~/.gov); every piece of gov state lives below it. */
export function govHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env['GOV_HOME'];
  return h && h.length > 0 ? h : join(homedir(), '.gov');
}

/** Create (0700) a directory under GOV_HOME, tightening the mode if it already exists. */
export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) chmodSync(path, 0o700);
  return path;
}

export function homePaths(home: string = govHome()) {
  return {
    home,
    ca: join(home, 'ca'),
    caCert: join(home, 'ca', 'ca.pem'),
    caKey: join(home, 'ca', 'ca-key.pem'),
    vault: join(home, 'vault.json'),
    audit: join(home, 'audit'),
    runs: join(home, 'runs'),
    pins: join(home, 'pins.json'),
    policy: join(home, 'policy.yaml'),
  };
}
export type HomePaths = ReturnType<typeof homePaths>;
