import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openAuditSink } from '../../src/audit/open-sink.js';
import { call, readLines, tempHome, writeLines, writeRun } from './helpers.js';

/** These tests run the built CLI (`npm test` builds first; a rebuild here would rewrite dist/ under other tests). */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(root, 'bin', 'gov.js');

beforeAll(() => {
  if (!fs.existsSync(join(root, 'dist', 'bundle', 'gov.cjs')))
    throw new Error('dist/ is missing: run `npm run build` first');
});

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
});
afterEach(() => t.cleanup());

function gov(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, GOV_HOME: t.home, NO_COLOR: '1', TZ: 'UTC' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Collects a child's stdout from the start (a stream in flowing mode drops data nobody listens to). */
function collect(child: ChildProcess): (pred: (out: string) => boolean, ms?: number) => Promise<string> {
  let out = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  return (pred, ms = 10_000) =>
    new Promise((res, rej) => {
      const check = (): void => {
        if (!pred(out)) return;
        clearTimeout(timer);
        waiters.delete(check);
        res(out);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        rej(new Error(`timed out; stdout so far:\n${out}`));
      }, ms);
      waiters.add(check);
      check();
    });
}

describe('gov audit verify', () => {
  it('a missing audit directory is ok: 0 records in 0 runs', () => {
    expect(gov(['audit', 'verify'])).toMatchObject({ code: 0, stdout: 'ok: 0 records in 0 runs\n' });
  });

  it('intact runs are ok; an edited record fails naming file:line and why', async () => {
    await writeRun(t.audit, 'run-a', { calls: 3 });
    const { path } = await writeRun(t.audit, 'run-b', { calls: 2 });
    expect(gov(['audit', 'verify'])).toMatchObject({
      code: 0,
      stdout: 'ok: 9 records in 2 runs\n',
      stderr: '',
    });
    const lines = readLines(path);
    lines[1] = lines[1]!.replace('get_item_1', 'delete_repo');
    writeLines(path, lines);
    const r = gov(['audit', 'verify']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(`${path}:2: hash mismatch (the record was edited)`);
    expect(r.stderr).toMatch(/^gov: audit verification failed at .*run-b\.jsonl:2/);
  });

  it('a run killed after its last signed checkpoint: exit 0 with a warning', async () => {
    const script = join(t.home, 'writer.mjs');
    const url = (f: string): string =>
      JSON.stringify(pathToFileURL(join(root, 'dist', 'src', 'audit', f)).href);
    fs.writeFileSync(
      script,
      `import { openRunAudit } from ${url('run-audit.js')};
import { openAuditSigner } from ${url('signing-key.js')};
const no = () => Promise.reject(new Error('no keyring'));
const signer = await openAuditSigner({ home: process.argv[2], env: {}, keyring: { description: 'none', get: no, set: no, delete: no } });
const ra = await openRunAudit({ dir: process.argv[3], run: 'killed', sync: 'always', signer,
  start: { kind: 'run_start' }, checkpoint: { ms: 50 } });
for (let i = 0; i < 20; i++) await ra.sink.append({ kind: 'call', tool: 't' + i });
process.stdout.write('written\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script, t.home, t.audit], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await collect(child)((o) => o.includes('written'));
      const file = join(t.audit, 'killed.jsonl');
      const deadline = Date.now() + 10_000;
      while (!/"kind":"checkpoint"/.test(readLines(file).at(-1) ?? '')) {
        if (Date.now() > deadline) throw new Error('no checkpoint was written');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.on('exit', r));
    const r = gov(['audit', 'verify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: \d+ records in 1 run\n$/);
    expect(r.stderr).toMatch(/killed\.jsonl:\d+: unsealed \(the run was killed\)/);
  });

  it('gov audit key prints one base64 line; --key with another key fails', async () => {
    await writeRun(t.audit, 'run-a', { calls: 1 });
    const key = gov(['audit', 'key']);
    expect(key.code).toBe(0);
    expect(key.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(gov(['audit', 'verify', '--key', key.stdout.trim()])).toMatchObject({ code: 0 });
    const keyFile = join(t.home, 'pinned.pub');
    fs.writeFileSync(keyFile, key.stdout);
    expect(gov(['audit', 'verify', '--key', keyFile])).toMatchObject({ code: 0 });
    const other = Buffer.alloc(32, 7).toString('base64');
    const r = gov(['audit', 'verify', '--key', other]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toMatch(/run-a\.jsonl:1: .*signature does not verify/);
    expect(gov(['audit', 'verify', '--key', 'nonsense'])).toMatchObject({ code: 2 });
  });

  it('--help exits 0', () => {
    expect(gov(['audit', 'verify', '--help'])).toMatchObject({ code: 0 });
    expect(gov(['audit', '--help']).stdout).toMatch(/tail/);
  });
});

describe('gov audit tail', () => {
  it('prints a table of the last N records, JSON lines as stored, and filters', async () => {
    const { path } = await writeRun(t.audit, '20261121T050102Z-3f9a1c', { calls: 6 });
    const table = gov(['audit', 'tail', '-n', '3']);
    expect(table.code).toBe(0);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^TIME\s+RUN\s+KIND\s+DECISION/);
    expect(rows[3]).toMatch(/3f9a1c\s+run_end/);
    expect(table.stdout).not.toContain('\u001b[');

    const json = gov(['audit', 'tail', '--json']);
    expect(json.stdout).toBe(fs.readFileSync(path, 'utf8'));

    const denies = gov([
      'audit',
      'tail',
      '--json',
      '--decision',
      'deny',
      '--tool',
      'get_item_?',
      '--server',
      'github',
    ]);
    expect(
      denies.stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { tool: string }).tool),
    ).toEqual(['get_item_3', 'get_item_6']);
    expect(gov(['audit', 'tail', '--json', '--run', 'nope']).stdout).toBe('');
  });

  it('usage errors exit 2', () => {
    expect(gov(['audit', 'tail', '-n', 'many']).code).toBe(2);
    expect(gov(['audit', 'tail', '--decision', 'maybe']).code).toBe(2);
    expect(gov(['audit', 'tail', '--bogus']).code).toBe(2);
    expect(gov(['audit', 'nope']).code).toBe(2);
    expect(gov(['audit', 'tail', '--help'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/--decision/),
    });
  });

  it('-f follows a run that starts after the tail began, and exits 0 on SIGINT', async () => {
    await writeRun(t.audit, 'run-old', { calls: 1, seal: false });
    const child = spawn(process.execPath, [bin, 'audit', 'tail', '-f', '--json'], {
      env: { ...process.env, GOV_HOME: t.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const readUntil = collect(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await readUntil((o) => o.includes('"run-old.2"'));
      const sink = await openAuditSink({ dir: t.audit, run: 'run-new' });
      await sink.append({ kind: 'run_start' });
      await sink.append(call(42));
      const out = await readUntil((o) => o.includes('get_item_42'));
      expect(out).toContain('"run-new.1"');
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGINT');
      expect(await exit).toBe(0);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nstderr: ${stderr}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
