import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useInput, useStdout } from 'ink';
import type { EndedCall, HeldCall } from '../../src/types.js';
import type { RecentLog } from './recent-log.js';

export { RecentLog, type RecentCallLog } from './recent-log.js';

/** The slice of ApprovalBroker the UI needs (core and UI meet only at this typed bus). */
export interface HeldCallSource {
  list(): HeldCall[];
  /** Calls that recently ended without an answer (the client gave up, a timeout), newest first. */
  recentlyEnded?(): EndedCall[];
  subscribe(listener: (ev: { type: 'held' | 'settled' }) => void): () => void;
}

/** Held calls, oldest first, kept current from the broker's events. */
export function useHeldCalls(source: HeldCallSource): HeldCall[] {
  const [held, setHeld] = useState<HeldCall[]>(() => source.list());
  useEffect(() => {
    let scheduled = false;
    // A burst of events (1,000 calls held at once) becomes one re-read, not 1,000.
    const refresh = () => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        setHeld(source.list());
      });
    };
    const off = source.subscribe(refresh);
    refresh();
    return off;
  }, [source]);
  return held;
}

/** The most recent held call that ended without an approver's answer, kept current. */
export function useLastEnded(source: HeldCallSource): EndedCall | undefined {
  const read = () => source.recentlyEnded?.()[0];
  const [last, setLast] = useState<EndedCall | undefined>(read);
  useEffect(() => source.subscribe(() => setLast(source.recentlyEnded?.()[0])), [source]);
  return last;
}

const NONE: never[] = [];
const noSubscription = () => () => {};
const nothing = () => NONE;

export function useRecent<T>(log: RecentLog<T> | undefined): T[] {
  return useSyncExternalStore(log?.subscribe ?? noSubscription, log?.snapshot ?? nothing);
}

/** Wall-clock ms, ticking every second while `active` (for "held N s"). */
export function useNow(active: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [active, everyMs]);
  return now;
}

/** Terminal size, re-read on resize. */
export function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

/**
 * Milliseconds since `key` last changed. Used to ignore keys for a moment after the
 * call on screen changes, so a keypress meant for one call never lands on the next.
 */
export function useChangedAt(key: string | undefined): () => number {
  const ref = useRef<{ key: string | undefined; at: number }>({ key, at: Date.now() });
  if (ref.current.key !== key) ref.current = { key, at: Date.now() };
  return () => Date.now() - ref.current.at;
}

/**
 * Whether keys count yet for what is on screen under `key`: false for `guardMs` after it
 * changes (keys then are ignored), so the key hints can appear only once they act.
 */
export function useArmed(key: string | undefined, guardMs: number): boolean {
  const [armedFor, setArmedFor] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (key === undefined || guardMs <= 0) return;
    const t = setTimeout(() => setArmedFor(key), guardMs);
    return () => clearTimeout(t);
  }, [key, guardMs]);
  return key !== undefined && (guardMs <= 0 || armedFor === key);
}

type InputHandler = Parameters<typeof useInput>[0];

/**
 * useInput with a handler that always sees the latest render. Ink re-subscribes a
 * changed handler only when React flushes passive effects, which can lag behind the
 * render that put a new held call on screen; a key pressed in that gap would reach a
 * stale handler. Here the subscription is made once and reads the newest handler.
 */
export function useLatestInput(handler: InputHandler, isActive: boolean): void {
  const latest = useRef(handler);
  latest.current = handler;
  const stable = useCallback<InputHandler>((input, key) => latest.current(input, key), []);
  useInput(stable, { isActive });
}
