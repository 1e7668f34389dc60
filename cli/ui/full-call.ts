import { useEffect, useRef, useState } from 'react';
import type { PendingCall } from '../../src/approvals/client.js';
import { formatBytes } from '../../src/approvals/args-summary.js';

/** Fetches one held call with its arguments in full (the control socket's `get`). */
export type GetFullCall = (call: PendingCall) => Promise<PendingCall | null>;

type Fetch =
  { state: 'loading' } | { state: 'shown'; call: PendingCall } | { state: 'failed'; error: string };

export interface FullCall {
  /** What to show: the call in full, or its listing's summary while it is not (yet) at hand. */
  shown: PendingCall | undefined;
  /** Why approving is refused because only a summary is on screen; undefined once it is whole. */
  refusal: string | undefined;
  /** Shown above the arguments while they are a summary. */
  notice: string | undefined;
  /** Ask again after a failed fetch. */
  retry(): void;
}

const keyOf = (c: PendingCall) => `${c.run}\u0000${c.id}`;

/** The fetched call is the selected one, whole: same run, id and argument digest. */
function sameCall(summary: PendingCall, full: PendingCall | null): full is PendingCall {
  return (
    full !== null &&
    full.run === summary.run &&
    full.id === summary.id &&
    full.args_digest === summary.args_digest &&
    full.args_truncated !== true
  );
}

/**
 * The selected held call as `gov approvals` must show it before it can be approved. Listings
 * summarise large arguments (`args_truncated`), and a summary can cut exactly the part that
 * matters (a long query's tail, a key past the shown ones), so the whole call is fetched and
 * checked to be the selected one. Only the selected call's fetch is kept.
 */
export function useFullCall(selected: PendingCall | undefined, getFull: GetFullCall): FullCall {
  // One slot: the fetch for one call; `request` tells its answer from a later one's.
  const [slot, setSlot] = useState<{ key: string; request: object; fetch: Fetch } | undefined>(undefined);
  const [attempt, setAttempt] = useState(0);
  const latest = useRef(slot);
  latest.current = slot;
  const key = selected?.args_truncated ? keyOf(selected) : undefined;

  useEffect(() => {
    if (!selected || key === undefined) return;
    const current = latest.current;
    if (current?.key === key && current.fetch.state !== 'failed') return;
    const request = {};
    // An answer lands only if the slot still waits for this very request.
    const land = (fetch: Fetch) => setSlot((s) => (s?.request === request ? { key, request, fetch } : s));
    setSlot({ key, request, fetch: { state: 'loading' } });
    getFull(selected).then(
      (full) =>
        land(
          sameCall(selected, full)
            ? { state: 'shown', call: full }
            : {
                state: 'failed',
                error: full === null ? 'it is no longer held' : 'the run sent another call',
              },
        ),
      (err: unknown) => land({ state: 'failed', error: err instanceof Error ? err.message : String(err) }),
    );
    // `selected` is the call `key` names; a new object for the same call needs no new fetch.
  }, [key, attempt, getFull]);

  const retry = () => {
    if (latest.current?.fetch.state === 'failed') setAttempt((n) => n + 1);
  };
  if (!selected || key === undefined)
    return { shown: selected, refusal: undefined, notice: undefined, retry };
  const fetch = slot?.key === key ? slot.fetch : { state: 'loading' as const };
  if (fetch.state === 'shown') return { shown: fetch.call, refusal: undefined, notice: undefined, retry };
  const size = formatBytes(selected.args_bytes ?? 0);
  if (fetch.state === 'loading')
    return {
      shown: selected,
      refusal: 'not approved: only a summary of its arguments is on screen — wait for them in full',
      notice: `summary of ${size} of arguments — loading them in full…`,
      retry,
    };
  return {
    shown: selected,
    refusal: `not approved: its full arguments could not be fetched (${fetch.error}); only a summary was shown — a tries again`,
    notice: `summary of ${size} of arguments — fetching them in full failed (${fetch.error}); a tries again`,
    retry,
  };
}
