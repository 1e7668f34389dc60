import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const GOV_BIN = join(ROOT, 'bin', 'gov.js');

export function tempHome(prefix = 'gov-home-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface GovResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `gov <args>` to completion (with a hard timeout) and collect its output. */
export function runGov(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<GovResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnGov(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gov ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export function spawnGov(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  delete env['NODE_OPTIONS'];
  return spawn(process.execPath, [GOV_BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
