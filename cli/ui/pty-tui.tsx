import { PassThrough } from 'node:stream';
import type { IPty } from '@lydell/node-pty';
import xtermHeadless from '@xterm/headless';
import { SerializeAddon } from '@xterm/addon-serialize';
import { render, type Instance } from 'ink';
import { ApprovalPanel } from './ApprovalPanel.js';
import type { HeldCallSource, RecentCallLog, RecentLog } from './panel-hooks.js';
import type { PinAlert } from '../../src/safety/pins-config.js';
import type { ApprovalPanelProps } from './ApprovalPanel.js';

export interface PtyTuiOptions {
  broker: HeldCallSource & ApprovalPanelProps['broker'];
  calls: RecentCallLog;
  /** Shown with the held call that brings the panel up (an alert alone leaves the child's screen be). */
  pinAlerts?: RecentLog<PinAlert>;
  pty: IPty;
  /** What the child wrote before the panel's code was loaded (gov kept it meanwhile). */
  earlier?: readonly string[];
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

const ENTER_ALT = '\x1b[?1049h';
const LEAVE_ALT = '\x1b[?1049l';
const CLEAR = '\x1b[H\x1b[2J';
const NO_AUTOWRAP = '\x1b[?7l';
const AUTOWRAP = '\x1b[?7h';

/** Ink's stdin: a stream gov feeds with the keys it routes to the panel. */
function panelKeys(): NodeJS.ReadStream {
  const keys = new PassThrough() as PassThrough & Record<string, unknown>;
  Object.assign(keys, { isTTY: true, setRawMode: () => keys, ref: () => keys, unref: () => keys });
  return keys as unknown as NodeJS.ReadStream;
}

/**
 * `gov run` with an interactive child: the child owns the whole terminal through its
 * pseudo-terminal, and gov takes the screen over only while a call is held. Everything the
 * child draws also goes into a headless terminal emulator, so when the last held call is
 * settled the child's screen is put back exactly: the normal screen by leaving the
 * alternate screen gov drew on and replaying what the child wrote meanwhile, a full-screen
 * child's alternate screen by repainting it from the emulator.
 */
export function mountPtyTui(opts: PtyTuiOptions): { unmount(): void } {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const { pty } = opts;
  const mirror = new xtermHeadless.Terminal({
    cols: pty.cols,
    rows: pty.rows,
    scrollback: 0,
    allowProposedApi: true,
  });
  const serializer = new SerializeAddon();
  mirror.loadAddon(serializer);

  // While a panel is up (or being taken down), the child's output is held back in `missed`.
  let panel: { ink: Instance; keys: NodeJS.ReadStream; missed: string[]; closing: boolean } | undefined;

  const fromChild = (data: string) => {
    mirror.write(data);
    if (panel) panel.missed.push(data);
    else stdout.write(data);
  };
  for (const data of opts.earlier ?? []) fromChild(data);
  const dataSub = pty.onData(fromChild);

  const takeOver = () => {
    // 1049h while the child is on its own alternate screen changes nothing; the clear does.
    stdout.write(ENTER_ALT + CLEAR);
    const keys = panelKeys();
    const ink = render(
      <ApprovalPanel
        broker={opts.broker}
        calls={opts.calls}
        {...(opts.pinAlerts ? { pinAlerts: opts.pinAlerts } : {})}
        onInterrupt={() => pty.write('\x03')}
      />,
      { stdout, stdin: keys, exitOnCtrlC: false, patchConsole: false },
    );
    panel = { ink, keys, missed: [], closing: false };
  };

  /** Puts the child's screen back, once the emulator has caught up with its output. */
  const restore = (missed: string[]) => {
    if (mirror.buffer.active.type === 'normal') {
      // The terminal kept the child's normal screen while gov drew on the alternate one.
      stdout.write(LEAVE_ALT + missed.join(''));
      return;
    }
    // The child is full-screen: repaint its alternate screen, which the serialized state
    // holds after its 1049h. After the terminal narrowed, the emulator's rows keep their old
    // cells past the new width; with autowrap off those are clipped instead of wrapping.
    const state = serializer.serialize({ scrollback: 0 });
    const alt = state.lastIndexOf(ENTER_ALT);
    const screen = alt === -1 ? state : state.slice(alt + ENTER_ALT.length);
    stdout.write(CLEAR + NO_AUTOWRAP + screen + AUTOWRAP);
  };

  const giveBack = () => {
    if (!panel || panel.closing) return;
    const current = panel;
    current.closing = true;
    current.ink.unmount();
    mirror.write('', () => {
      if (panel !== current) return;
      panel = undefined;
      restore(current.missed);
      sync();
    });
  };

  const sync = () => {
    const anyHeld = opts.broker.list().length > 0;
    if (anyHeld && !panel) takeOver();
    else if (!anyHeld && panel) giveBack();
  };
  const offBroker = opts.broker.subscribe(() => queueMicrotask(sync));
  sync();

  const onKey = (data: Buffer | string) => {
    if (panel && !panel.closing) panel.keys.push(data);
    else pty.write(typeof data === 'string' ? data : data.toString('utf8'));
  };
  const onResize = () => {
    const cols = stdout.columns || 80;
    const rows = stdout.rows || 24;
    pty.resize(cols, rows);
    mirror.resize(cols, rows);
  };
  stdin.setRawMode?.(true);
  stdin.on('data', onKey);
  stdin.resume();
  stdout.on('resize', onResize);

  let unmounted = false;
  return {
    unmount() {
      if (unmounted) return;
      unmounted = true;
      offBroker();
      dataSub.dispose();
      if (panel) {
        const { ink, missed } = panel;
        panel = undefined;
        ink.unmount();
        restore(missed);
      }
      stdout.off('resize', onResize);
      stdin.off('data', onKey);
      stdin.setRawMode?.(false);
      stdin.pause();
      // A child that died on its alternate screen would leave the terminal there.
      if (mirror.buffer.active.type === 'alternate') stdout.write(LEAVE_ALT);
      mirror.dispose();
    },
  };
}
