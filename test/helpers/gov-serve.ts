import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import { runGov, spawnGov } from './gov-process.js';

export interface ServeProcess {
  child: ChildProcess;
  /** `https://127.0.0.1:PORT` as gov printed it. */
  url: string;
  stderr(): string;
  /** SIGTERM, then the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | null>;
}

/** `gov serve ARGS` on a free port; resolves once it prints where it serves. */
export function startServe(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child = spawnGov(['serve', '--listen', '127.0.0.1:0', ...args], { env });
  let err = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (child.exitCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gov serve did not start:\n${err}`));
    }, 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving (https?:\/\/[^\s]+) /.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => err, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gov serve exited (${code}):\n${err}`));
    });
  });
}

/**
 * Run an SDK client fixture (`node SCRIPT URL STEPS`) against a gov serve instance with a
 * bearer token and the edge CA; resolves with the JSON lines it printed (one per step).
 */
export function runServeClient<T>(
  script: string,
  url: string,
  steps: unknown[],
  o: { bearer: string; edgeCa?: string; args?: string[]; env?: Record<string, string> },
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, url, ...(o.args ?? []), JSON.stringify(steps)], {
      env: {
        ...process.env,
        GOV_TEST_BEARER: o.bearer,
        ...(o.edgeCa ? { NODE_EXTRA_CA_CERTS: o.edgeCa } : {}),
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(t);
      resolve(
        out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as T),
      );
    });
  });
}

/** `gov serve token add NAME` in `home`: the new bearer token. */
export async function addServeToken(home: string, name: string): Promise<string> {
  const r = await runGov(['serve', 'token', 'add', name], { env: { GOV_HOME: home } });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/**
 * One JSON-RPC request to gov serve's `/mcp` with a bearer token (protocol 2025-06-18 unless
 * `headers` say otherwise).
 */
export function postToServe(
  serveUrl: string,
  bearer: string,
  message: { id: number; method: string; params: Record<string, unknown> },
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${serveUrl}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${bearer}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', ...message }),
  });
}
