/**
 * Waiting for something instead of sleeping a fixed time: each helper polls (every few ms at
 * first, then less often, at most every 50 ms) and fails naming `what` once its deadline
 * passes — a generous bound for a loaded machine, never a timing claim.
 */

/** Poll `f` until it gives a value (anything but undefined), and return that value. */
export async function eventually<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  deadlineMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let pause = 5;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${deadlineMs} ms)`);
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 50);
  }
}

/** Poll `check` until it holds. */
export async function until(check: () => boolean, what = 'condition', deadlineMs = 10_000): Promise<void> {
  await eventually(what, () => (check() ? true : undefined), deadlineMs);
}

/** Wait until an ink-testing-library frame satisfies `test` (a substring or a pattern); returns it. */
export async function frameWith(
  ui: { lastFrame(): string | undefined },
  test: string | RegExp,
  deadlineMs?: number,
): Promise<string> {
  const ok = (f: string) => (typeof test === 'string' ? f.includes(test) : test.test(f));
  await until(() => ok(ui.lastFrame() ?? ''), `frame with ${String(test)}`, deadlineMs);
  return ui.lastFrame() ?? '';
}

/** Wait until Ink listens on the test stdin, so a key written next is not lost. */
export async function inputReady(ui: { stdin: { listenerCount(event: string): number } }): Promise<void> {
  await until(() => ui.stdin.listenerCount('readable') > 0, 'Ink listening for input');
}
