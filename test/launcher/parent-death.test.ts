import { describe, expect, it } from 'vitest';
import { resolveCommand, withParentDeathSignal } from '../../src/launcher/parent-death.js';

const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };

describe('withParentDeathSignal', () => {
  it('on Linux runs the resolved command under setpriv --pdeathsig KILL', () => {
    const r = withParentDeathSignal('sh', ['-c', 'exit 0'], env, 'linux');
    expect(r.command).toMatch(/\/setpriv$/);
    expect(r.args).toEqual(['--pdeathsig', 'KILL', '--', resolveCommand('sh', env), '-c', 'exit 0']);
  });

  it("reports a missing command as gov's spawn error, not as setpriv's exit 127", () => {
    expect(() => withParentDeathSignal('no-such-command-gov', [], env, 'linux')).toThrow(
      /cannot start 'no-such-command-gov': ENOENT/,
    );
  });

  it('elsewhere leaves the command as it is', () => {
    expect(withParentDeathSignal('agent', ['x'], env, 'darwin')).toEqual({ command: 'agent', args: ['x'] });
  });
});
