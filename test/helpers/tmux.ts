import { execFileSync, spawnSync } from 'node:child_process';
import { eventually } from './until.js';

export const hasTmux = spawnSync('tmux', ['-V']).status === 0;

/** What a session's screen is waited for: a substring, a pattern, or a test. */
export type ScreenWant = string | RegExp | ((screen: string) => boolean);

/**
 * A tmux server of the test's own (`tmux -L name`): its sessions are the real terminals gov
 * and its panels run in; the tests read their screens and send them keys.
 */
export function tmuxServer(name: string) {
  const tmux = (...args: string[]): string =>
    execFileSync('tmux', ['-L', name, ...args], { encoding: 'utf8' });
  /** The session's visible screen; `joined`: lines the terminal wrapped are joined. */
  const screen = (session: string, joined = false): string =>
    tmux('capture-pane', '-p', ...(joined ? ['-J'] : []), '-t', session);
  /** Wait until the session's screen shows `want`; returns that screen (a timeout shows the last one). */
  const waitFor = async (
    session: string,
    want: ScreenWant,
    o: { ms?: number; what?: string } = {},
  ): Promise<string> => {
    const ok =
      typeof want === 'string'
        ? (s: string) => s.includes(want)
        : want instanceof RegExp
          ? (s: string) => want.test(s)
          : want;
    let last = '';
    try {
      return await eventually(
        o.what ?? String(want),
        () => {
          last = screen(session);
          return ok(last) ? last : undefined;
        },
        o.ms ?? 20_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; screen:\n${last}`);
    }
  };
  const kill = (): void => void spawnSync('tmux', ['-L', name, 'kill-server']);
  return { tmux, screen, waitFor, kill };
}
