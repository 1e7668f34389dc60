import type { Readable, Writable } from 'node:stream';
import { useEffect } from 'react';
import { render, useStdout } from 'ink';
import type { ApprovalBroker } from '../../src/approvals/broker.js';
import { ApprovalPanel } from './ApprovalPanel.js';
import { ChildOutputForwarder, type Write } from './child-output.js';
import type { RecentCallLog, RecentLog } from './panel-hooks.js';
import type { PinAlert } from '../../src/safety/pins-config.js';

export interface RunTuiOptions {
  broker: ApprovalBroker;
  /** Created before the child starts, so the run's first calls are shown. */
  calls: RecentCallLog;
  pinAlerts?: RecentLog<PinAlert>;
  child: { stdout: Readable; stderr: Readable; stdin: Writable };
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  /** Ctrl-C was pressed; the caller forwards SIGINT to the child. */
  onInterrupt?: () => void;
}

export interface RunTui {
  /**
   * Resolves when the child's stdout and stderr have ended and everything they carried was
   * shown, or after `graceMs` (a grandchild may hold the pipes open after the child exits).
   */
  drained(graceMs?: number): Promise<void>;
  /** Print one of gov's own lines (a policy reload, a taint warning) above the live panel. */
  print(line: string): void;
  /** Restores the terminal; later child output goes straight to stdout. */
  unmount(): void;
}

/** Hands Ink's "write above the live region" function to code outside React. */
function WriterBridge({ onWriter }: { onWriter: (w: Write | null) => void }) {
  const { write } = useStdout();
  useEffect(() => {
    onWriter(write);
    return () => onWriter(null);
  }, [write, onWriter]);
  return null;
}

/**
 * The interactive terminal of `gov run`: the child's output scrolls above a live panel
 * of governed calls and held approvals. Nothing here kills or signals the child.
 */
export function mountRunTui(opts: RunTuiOptions): RunTui {
  const stdout = opts.stdout ?? process.stdout;
  const { child } = opts;
  const forwarder = new ChildOutputForwarder([child.stdout, child.stderr]);
  // The child may exit before reading what we send; that must not crash gov.
  const onStdinError = () => {};
  child.stdin.on('error', onStdinError);

  const sendLine = (line: string) => {
    if (child.stdin.writable) child.stdin.write(line + '\n');
  };
  const sendEof = () => {
    if (child.stdin.writable) child.stdin.end();
  };
  let writer: Write | null = null;
  const setWriter = (w: Write | null) => {
    writer = w;
    forwarder.setWriter(w);
  };

  const instance = render(
    <>
      <WriterBridge onWriter={setWriter} />
      <ApprovalPanel
        broker={opts.broker}
        calls={opts.calls}
        {...(opts.pinAlerts ? { pinAlerts: opts.pinAlerts } : {})}
        onLine={sendLine}
        onEof={sendEof}
        {...(opts.onInterrupt ? { onInterrupt: opts.onInterrupt } : {})}
      />
    </>,
    {
      stdout,
      stdin: opts.stdin ?? process.stdin,
      exitOnCtrlC: false,
      patchConsole: false,
    },
  );

  let unmounted = false;
  return {
    drained(graceMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      return Promise.race([forwarder.ended, grace]).finally(() => clearTimeout(timer));
    },
    print(line) {
      if (writer && !unmounted) writer(line);
      else process.stderr.write(line);
    },
    unmount() {
      if (unmounted) return;
      unmounted = true;
      instance.unmount();
      // Queued text (the panel never got to draw) and whatever the child still prints
      // go to the terminal as they are.
      forwarder.setWriter((text) => stdout.write(text));
      child.stdin.off('error', onStdinError);
    },
  };
}
