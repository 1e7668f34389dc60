import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { spawnGov, tempHome } from '../helpers/gov-process.js';
import { isolationSupport } from '../../src/isolation/availability.js';
import { eventually } from '../helpers/until.js';

function pidIn(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number(readFileSync(file, 'utf8').trim());
  return n > 0 ? n : undefined;
}

/** The pid (as seen here) of the process whose command line is exactly `argv`. */
function pidByCommandLine(argv: string[]): number | undefined {
  const want = argv.join('\0') + '\0';
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === want) return Number(name);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** Gone, or a zombie nobody reaps yet (it runs no code either way). */
function gone(pid: number): true | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? true : undefined;
  } catch {
    return true;
  }
}

describe.runIf(process.platform === 'linux')(
  'when gov is killed with SIGKILL, what it governs dies too',
  () => {
    it('gov run: the agent is gone', async () => {
      const home = tempHome();
      const marker = join(home, 'child.pid');
      const gov = spawnGov(['run', '--no-tui', '--', 'sh', '-c', `echo $$ > ${marker}; exec sleep 60`], {
        env: { GOV_HOME: home },
      });
      try {
        const child = await eventually('the child pid', () => pidIn(marker));
        expect(gone(child)).toBeUndefined();
        gov.kill('SIGKILL');
        await eventually(`child ${child} to die`, () => gone(child));
      } finally {
        gov.kill('SIGKILL');
      }
    });

    // Inside the sandbox the child has its own PID namespace: it is found by a unique command line.
    it.skipIf(!isolationSupport().ok)('gov run --isolate: the sandboxed agent is gone', async () => {
      const home = tempHome();
      const argv = ['sleep', `60.${randomInt(1_000_000)}`];
      const gov = spawnGov(['run', '--no-tui', '--isolate', '--', ...argv], { env: { GOV_HOME: home } });
      let stderr = '';
      gov.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        const child = await eventually('the sandboxed child', () => {
          if (gov.exitCode !== null)
            throw new Error(`gov exited ${gov.exitCode} before the child ran:\n${stderr}`);
          return pidByCommandLine(argv);
        });
        expect(gone(child)).toBeUndefined();
        gov.kill('SIGKILL');
        await eventually(`child ${child} to die`, () => gone(child));
      } finally {
        gov.kill('SIGKILL');
      }
    });

    // A server that ignores the end of its stdin (a plain stdio server would exit on it anyway).
    it('gov mcp wrap: the stdio server is gone', async () => {
      const home = tempHome();
      const marker = join(home, 'server.pid');
      const gov = spawnGov(
        ['mcp', 'wrap', '--name', 'files', '--', 'sh', '-c', `echo $$ > ${marker}; exec sleep 60`],
        { env: { GOV_HOME: home } },
      );
      try {
        const server = await eventually('the server pid', () => pidIn(marker));
        expect(gone(server)).toBeUndefined();
        gov.kill('SIGKILL');
        await eventually(`server ${server} to die`, () => gone(server));
      } finally {
        gov.kill('SIGKILL');
      }
    });
  },
);
