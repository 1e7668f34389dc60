/**
 * The sandbox's init builds loopback and the mounts side by side; whichever step fails ends
 * the sandbox with that step's cause, and the child never starts.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { isolationSupport } from '../../src/isolation/availability.js';

const support = isolationSupport();

/**
 * A home, and `<tool>` first on PATH: a wrapper that fails when its arguments match. Outside
 * the home, which the sandbox hides.
 */
function failingTool(tool: string, realPath: string, failWhen: string, message: string) {
  const home = tempHome('gov-iso-fail-');
  const bin = mkdtempSync(join(tmpdir(), 'gov-iso-fail-bin-'));
  writeFileSync(
    join(bin, tool),
    `#!/bin/sh\ncase "$*" in\n  ${failWhen}) echo "${message}" >&2; exit 32;;\nesac\nexec ${realPath} "$@"\n`,
    { mode: 0o755 },
  );
  return { home, env: { GOV_HOME: home, PATH: `${bin}:${process.env['PATH'] ?? ''}` } };
}

describe.skipIf(!support.ok)('gov run --isolate: a set-up step that fails', () => {
  const tools = support.ok ? support.tools : { ip: '', mount: '', unshare: '' };

  it('a mount: its cause, exit 125, and no child', async () => {
    const t = failingTool('mount', tools.mount, '*--bind*', 'mount: permission denied (simulated)');
    const marker = join(t.home, 'child-ran');
    const r = await runGov(['run', '--no-tui', '--isolate', '--', 'touch', marker], { env: t.env });
    expect(r.stderr).toMatch(
      /gov: cannot build the isolation sandbox: \S+\/mount --bind .*: mount: permission denied \(simulated\) — run 'gov doctor' for details/,
    );
    expect(r.code).toBe(125);
    expect(existsSync(marker)).toBe(false);
  });

  it('loopback (the probe passes, the sandbox’s routes fail): its cause, exit 125, and no child', async () => {
    const t = failingTool('ip', tools.ip, '-batch*', 'RTNETLINK answers: Operation not permitted');
    const marker = join(t.home, 'child-ran');
    const r = await runGov(['run', '--no-tui', '--isolate', '--', 'touch', marker], { env: t.env });
    expect(r.stderr).toMatch(
      /gov: cannot build the isolation sandbox: \S+\/ip -batch -: RTNETLINK answers: Operation not permitted/,
    );
    expect(r.code).toBe(125);
    expect(existsSync(marker)).toBe(false);
  });
});
