/**
 * `gov vault ...` through the built CLI (run `npm run build` first), in a temp GOV_HOME
 * with the passphrase backend so no keyring is touched.
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const GOV = resolve('bin/gov.js');
const SECRET = 'ghp_cli-secret-value-that-must-never-show-7f3a';

let home: string;
let cwd: string;

function run(args: string[], input?: string, env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, [GOV, ...args], {
      cwd,
      env: {
        PATH: process.env['PATH'],
        GOV_HOME: home,
        GOV_VAULT_BACKEND: 'passphrase',
        GOV_VAULT_PASSPHRASE: 'test-pass',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

function allFilesText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    if (statSync(p).isFile()) out += readFileSync(p, 'latin1');
  }
  return out;
}

beforeEach(() => {
  if (!existsSync(resolve('dist/cli/commands/vault.js')))
    throw new Error('run `npm run build` before the CLI tests');
  home = mkdtempSync(join(tmpdir(), 'gov-vault-cli-'));
  cwd = mkdtempSync(join(tmpdir(), 'gov-vault-cwd-'));
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

describe('gov vault (CLI)', () => {
  it('set reads stdin (one trailing newline stripped), list never shows values, rm removes', async () => {
    const set = await run(['vault', 'set', 'github-token'], `${SECRET}\n`);
    expect(set.code).toBe(0);
    expect(set.stdout + set.stderr).not.toContain(SECRET);
    const list = await run(['vault', 'list', '--json']);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as {
      name: string;
      created: string;
      updated: string;
      hosts: string[];
    }[];
    expect(rows.map((r) => r.name)).toEqual(['github-token']);
    expect(list.stdout).not.toContain(SECRET);
    const human = await run(['vault', 'list']);
    expect(human.stdout).toContain('github-token');
    expect(allFilesText(home)).not.toContain(SECRET);
    expect(statSync(join(home, 'vault.json')).mode & 0o777).toBe(0o600);
    expect((await run(['vault', 'rm', 'github-token'])).code).toBe(0);
    const again = await run(['vault', 'rm', 'github-token']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^gov: no vault entry 'github-token'/);
  });

  it('list shows the hosts the policy binds each secret to, and bound secrets that are missing', async () => {
    writeFileSync(
      join(cwd, 'gov.yaml'),
      [
        'version: 1',
        'credentials:',
        '  - secret: github-token',
        '    hosts: [api.githubcopilot.com, "*.github.com"]',
        '    header: Authorization',
        '    format: "Bearer {secret}"',
        '    env: GITHUB_TOKEN',
        '  - secret: missing-one',
        '    hosts: [x.example]',
        '    header: X-Key',
        '    format: "{secret}"',
        '',
      ].join('\n'),
    );
    expect((await run(['vault', 'set', 'github-token'], SECRET)).code).toBe(0);
    const list = await run(['vault', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)[0].hosts).toEqual(['api.githubcopilot.com:443', '*.github.com:443']);
    expect(list.stderr).toContain("'missing-one'");
  });

  it('usage errors exit 2: bad name, empty value, unknown subcommand', async () => {
    expect((await run(['vault', 'set', 'bad name'], 'x')).code).toBe(2);
    expect((await run(['vault', 'set', 'a/b'], 'x')).code).toBe(2);
    const empty = await run(['vault', 'set', 'ok'], '\n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/empty/);
    expect((await run(['vault', 'frobnicate'])).code).toBe(2);
    expect((await run(['vault', 'set'])).code).toBe(2);
    expect((await run(['vault', '--help'])).code).toBe(0);
    expect((await run(['vault', 'set', '--help'])).stdout).toContain('usage: gov vault');
  });

  it('a wrong passphrase is one clear line, exit 1, vault untouched', async () => {
    expect((await run(['vault', 'set', 'a'], 'one')).code).toBe(0);
    const before = readFileSync(join(home, 'vault.json'));
    const r = await run(['vault', 'set', 'a'], 'two', { GOV_VAULT_PASSPHRASE: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^gov: wrong passphrase/);
    expect(readFileSync(join(home, 'vault.json'))).toEqual(before);
  });

  it('a corrupted vault file is reported by name and not overwritten', async () => {
    writeFileSync(join(home, 'vault.json'), '{not json');
    const r = await run(['vault', 'set', 'a'], 'one');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(home, 'vault.json'));
    expect(r.stderr).toMatch(/corrupted/);
    expect(readFileSync(join(home, 'vault.json'), 'utf8')).toBe('{not json');
  });

  it('concurrent sets from separate processes lose nothing (including creating the vault)', async () => {
    const n = 6;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => run(['vault', 'set', `k${i}`], `value-${i}-xyz`)),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const list = await run(['vault', 'list', '--json']);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((r) => r.name).sort()).toEqual(
      Array.from({ length: n }, (_, i) => `k${i}`).sort(),
    );
    expect(readdirSync(home)).toEqual(['vault.json']);
  });
});

describe('the vault in the first hour', () => {
  it('a new vault refuses a passphrase shorter than 8 characters', async () => {
    const r = await run(['vault', 'set', 'api-key'], 'value-123', { GOV_VAULT_PASSPHRASE: 'short' });
    expect(r.stderr).toBe('gov: the vault passphrase is too short — use at least 8 characters\n');
    expect(r.code).toBe(1);
    expect(existsSync(join(home, 'vault.json'))).toBe(false);
  });

  it('a locked passphrase vault does not block a non-TTY run whose policy uses no credentials', async () => {
    expect((await run(['vault', 'set', 'api-key'], SECRET)).code).toBe(0);
    writeFileSync(join(cwd, 'gov.yaml'), 'version: 1\ndefault: deny\n');
    const r = await run(
      ['run', '--no-tui', '--', process.execPath, '-e', 'console.log("child ran")'],
      undefined,
      {
        GOV_VAULT_PASSPHRASE: '',
      },
    );
    expect(r.stdout).toBe('child ran\n');
    expect(r.stderr).toContain('gov: warning: vault values are not redacted in this run');
    expect(r.code).toBe(0);
  });

  it('policy check warns about a credential whose secret is not in the vault, without unlocking it', async () => {
    expect((await run(['vault', 'set', 'present'], SECRET)).code).toBe(0);
    writeFileSync(
      join(cwd, 'gov.yaml'),
      `version: 1
credentials:
  - secret: present
    hosts: [a.example]
    header: Authorization
    format: "Bearer {secret}"
  - secret: absent
    hosts: [b.example]
    header: Authorization
    format: "Bearer {secret}"
`,
    );
    const r = await run(['policy', 'check'], undefined, { GOV_VAULT_PASSPHRASE: '' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      "gov: warning: credential secret 'absent' is not in the vault — add it with 'gov vault set absent'\n",
    );
  });
});
