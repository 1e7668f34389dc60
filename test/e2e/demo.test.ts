import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/gov-process.js';

describe('npm run demo', () => {
  it('shows the server-side proof of the real credential, says "1 run", and leaves nothing in the temp dir', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gov-demo-tmp-'));
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
    delete env['GOV_HOME'];
    delete env['NODE_OPTIONS'];
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'demo', 'run-demo.mjs')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 110_000);
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    clearTimeout(kill);
    try {
      expect(code, out).toBe(0);
      const auth = 'Bearer demo-secret-token-0123456789';
      const proof = `${auth.length} characters, sha256 ${createHash('sha256').update(auth).digest('hex').slice(0, 16)}`;
      expect(out).toContain(`demo server: received Authorization: ${proof}`);
      expect(out).not.toContain('demo-secret-token-0123456789');
      expect(out).toMatch(/gov audit verify: ok: \d+ records in 1 run$/m);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
