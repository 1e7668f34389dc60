/**
 * Wait for a condition instead of sleeping a fixed time: polls every few ms and fails with
 * `what` once the deadline passes (a generous bound for a loaded machine, never a timing claim).
 */
export async function until(check: () => boolean, what = 'condition', deadlineMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > deadlineMs) throw new Error(`${what}: not met within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
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
