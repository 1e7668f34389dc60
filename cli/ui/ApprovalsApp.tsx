import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, render, Text, useStdin, type Key } from 'ink';
import type { PendingCall, SettleOutcome, UnreachableRun } from '../../src/approvals/client.js';
import type { RemoteEvent } from '../../src/approvals/subscription.js';
import { CHOOSE, promptKey, type PromptState } from './approval-keys.js';
import { scrollKey, unseenRefusal, useArgsViewport } from './args-viewport.js';
import { useFullCall, type GetFullCall } from './full-call.js';
import { HeldCallView } from './HeldCallView.js';
import { useArmed, useChangedAt, useLatestInput, useNow, useTerminalSize } from './panel-hooks.js';
import { sanitizeInline } from '../../src/terminal-text.js';
import { withdrawnNote } from '../../src/approvals/ended-calls.js';
import type { PinAlert } from '../../src/safety/pins-config.js';
import { PinAlerts } from './PinAlerts.js';
import { ReasonPrompt } from './ReasonPrompt.js';

export interface ApprovalsAppProps {
  /** Start streaming events from every live run (client.subscribeAll). */
  subscribe: (onEvent: (ev: RemoteEvent) => void) => { close(): void };
  /** The call with its arguments in full, for a call listed with a summary of them. */
  getFull: GetFullCall;
  /** Approve exactly `call` (its run, id and argument digest). */
  approve: (call: PendingCall, always: boolean) => Promise<SettleOutcome>;
  deny: (call: PendingCall, reason: string | undefined) => Promise<SettleOutcome>;
  /** `q` or Ctrl-C. */
  onExit: () => void;
  keyGuardMs?: number;
}

const keyOf = (run: string, id: string) => `${run}\u0000${id}`;
const callLabel = (key: string) => {
  const [run, id] = key.split('\u0000');
  return `${id ?? ''} (run ${run ?? ''})`;
};

/** Held calls across all runs, oldest first, kept current from the remote event stream. */
function useRemoteHeld(subscribe: ApprovalsAppProps['subscribe']) {
  const [calls, setCalls] = useState<PendingCall[]>([]);
  // Runs that exist but do not answer: shown, never silently left out.
  const [unreachable, setUnreachable] = useState<UnreachableRun[]>([]);
  // Calls that ended without an answer while shown here: the approver is told why they left.
  const [ended, setEnded] = useState<string[]>([]);
  // A changed or new tool, suspected poisoning: the last few of any run.
  const [alerts, setAlerts] = useState<PinAlert[]>([]);
  const remove = useCallback(
    (pred: (c: PendingCall) => boolean) => setCalls((prev) => prev.filter((c) => !pred(c))),
    [],
  );
  useEffect(() => {
    const sub = subscribe((ev) => {
      if (ev.type === 'held') {
        const call: PendingCall = { ...ev.call, run: ev.run };
        setCalls((prev) => {
          if (prev.some((c) => c.run === call.run && c.id === call.id)) return prev;
          return [...prev, call].sort((a, b) => a.held_since.localeCompare(b.held_since));
        });
      } else if (ev.type === 'pin-alert') {
        setAlerts((prev) => [...prev, ev.alert].slice(-3));
      } else if (ev.type === 'unreachable') {
        setUnreachable((prev) => (JSON.stringify(prev) === JSON.stringify(ev.runs) ? prev : ev.runs));
      } else if (ev.type === 'settled') {
        const note = withdrawnNote({ id: ev.id }, ev.verdict);
        if (note) setEnded((prev) => [...prev, `${note} (run ${ev.run})`].slice(-3));
        remove((c) => c.run === ev.run && c.id === ev.id);
      } else {
        remove((c) => c.run === ev.run);
      }
    });
    return () => sub.close();
  }, [subscribe, remove]);
  return { calls, remove, unreachable, ended, alerts };
}

/** `gov approvals`: every held call of every live run; pick one, approve or deny it. */
export function ApprovalsApp({
  subscribe,
  getFull,
  approve,
  deny,
  onExit,
  keyGuardMs = 300,
}: ApprovalsAppProps) {
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize();
  const { calls, remove, unreachable, ended, alerts } = useRemoteHeld(subscribe);
  // Selection and prompt live in refs so consecutive keys see each other's effect.
  const selectedKey = useRef<string | undefined>(undefined);
  const [status, setStatus] = useState<{ text: string; error: boolean } | undefined>(undefined);
  const prompt = useRef<PromptState>(CHOOSE);
  const [, rerender] = useState(0);

  // Selection follows the call, not the row, so arrivals and departures don't move it.
  let index = calls.findIndex((c) => keyOf(c.run, c.id) === selectedKey.current);
  if (index === -1) index = 0;
  const selected = calls[index];
  const selKey = selected ? keyOf(selected.run, selected.id) : undefined;
  const now = useNow(calls.length > 0);
  const listRows = Math.max(3, Math.min(10, rows - 20));
  const full = useFullCall(selected, getFull);
  const args = useArgsViewport(full.shown, columns, Math.max(4, rows - listRows - 12 - 2 * alerts.length));
  // Keys wait a moment whenever what is on screen changes: another call, or its full arguments.
  const sinceChanged = useChangedAt(args.key);
  const armed = useArmed(selected ? args.key : undefined, keyGuardMs);

  const act = useCallback(
    (call: PendingCall, settle: () => Promise<SettleOutcome>, done: string) => {
      settle().then(
        (r) => {
          if (r.settled) {
            remove((c) => c.run === call.run && c.id === call.id);
            setStatus({ text: `${done} ${call.id} (run ${call.run})`, error: false });
          } else {
            setStatus({ text: r.error, error: true });
          }
        },
        (err: unknown) => setStatus({ text: err instanceof Error ? err.message : String(err), error: true }),
      );
    },
    [remove],
  );

  useLatestInput((input: string, key: Key) => {
    if (key.ctrl && input === 'c') return onExit();
    const p = prompt.current;
    if (p.mode === 'choose') {
      if (input === 'q' || key.escape) return onExit();
      if (key.upArrow || key.downArrow) {
        const next = calls[Math.max(0, Math.min(calls.length - 1, index + (key.upArrow ? -1 : 1)))];
        if (next) {
          selectedKey.current = keyOf(next.run, next.id);
          rerender((v) => v + 1);
        }
        return;
      }
      if (scrollKey(args, input, key, false)) return;
      if (sinceChanged() < keyGuardMs) return;
    }
    const step = promptKey(p, selKey, input, key, 'tui', full.refusal ?? unseenRefusal(args));
    prompt.current = step.state;
    rerender((v) => v + 1);
    if (step.refused) {
      setStatus({ text: step.refused, error: true });
      full.retry();
    }
    if (!step.settle) return;
    const target = calls.find((c) => keyOf(c.run, c.id) === step.settle?.id);
    if (!target) {
      setStatus({ text: 'that call is no longer held; nothing was sent', error: true });
      return;
    }
    const v = step.settle.verdict;
    if (v.approved)
      act(target, () => approve(target, v.always === true), v.always ? 'approved (always)' : 'approved');
    else act(target, () => deny(target, v.reason), 'denied');
  }, isRawModeSupported === true);

  const start = Math.max(0, Math.min(index - Math.floor(listRows / 2), calls.length - listRows));
  const visible = calls.slice(start, start + listRows);
  const runs = new Set(calls.map((c) => c.run)).size;
  const p = prompt.current;
  const promptCallGone = p.mode === 'reason' && !calls.some((c) => keyOf(c.run, c.id) === p.id);

  return (
    <Box flexDirection="column" width={columns}>
      <Text bold wrap="truncate-end">
        gov approvals{' '}
        <Text dimColor>
          — {calls.length} held{calls.length > 0 ? ` across ${runs} run${runs === 1 ? '' : 's'}` : ''}
        </Text>
      </Text>
      {unreachable.map((u) => (
        <Text key={u.run} color="red" wrap="truncate-end">
          run {sanitizeInline(u.run, 64)} did not answer ({sanitizeInline(u.error, 80)}): its held calls are
          not shown
        </Text>
      ))}
      <PinAlerts alerts={alerts} />
      {ended.map((note, i) => (
        <Text key={i} color="yellow" wrap="truncate-end">
          {sanitizeInline(note, 300)}
        </Text>
      ))}
      {calls.length === 0 ? (
        <Box flexDirection="column" marginTop={1}>
          <Text>No held calls</Text>
          <Text dimColor>
            Waiting for calls held by live `gov run` / `gov mcp wrap` sessions… (q to quit)
          </Text>
        </Box>
      ) : (
        <Box flexDirection="column" marginTop={1}>
          {visible.map((c) => {
            const isSel = keyOf(c.run, c.id) === selKey;
            return (
              <Text key={keyOf(c.run, c.id)} wrap="truncate-end" inverse={isSel}>
                {isSel ? '▸ ' : '  '}
                {sanitizeInline(c.id, 20).padEnd(10)} {sanitizeInline(c.run, 24).padEnd(14)}{' '}
                {sanitizeInline(c.server, 30)}/{sanitizeInline(c.tool, 60)}{' '}
                <Text dimColor={!isSel}>rule {sanitizeInline(c.rule, 40)}</Text>
              </Text>
            );
          })}
          {calls.length > visible.length ? (
            <Text dimColor>({calls.length - visible.length} more; ↑/↓ to scroll)</Text>
          ) : null}
          {full.shown ? (
            <HeldCallView
              call={full.shown}
              now={now}
              showRun
              args={args}
              {...(full.notice ? { notice: full.notice } : {})}
            />
          ) : null}
          {p.mode === 'reason' ? null : !armed ? (
            <Text dimColor wrap="truncate-end">
              keys are live in a moment…
            </Text>
          ) : (
            <Text wrap="truncate-end">
              ↑/↓ select · j/k/PgUp/PgDn scroll ·{' '}
              <Text bold color="green">
                a
              </Text>{' '}
              approve once ·{' '}
              <Text bold color="green">
                A
              </Text>{' '}
              approve this tool for the rest of its run ·{' '}
              <Text bold color="red">
                d
              </Text>{' '}
              deny · q quit
            </Text>
          )}
        </Box>
      )}
      {p.mode === 'reason' ? (
        <ReasonPrompt call={callLabel(p.id)} text={p.text} gone={promptCallGone} />
      ) : null}
      {status ? (
        <Text color={status.error ? 'red' : 'green'} wrap="truncate-end">
          {sanitizeInline(status.text, 300)}
        </Text>
      ) : null}
    </Box>
  );
}

/**
 * Draws the view for `gov approvals`, with the Ink (and so the React) that the component
 * itself uses: the terminal UI is bundled on its own (scripts/bundle.mjs), and a renderer from
 * another copy of React would not run its hooks.
 */
export function mountApprovals(props: ApprovalsAppProps): { unmount: () => void } {
  const app = render(<ApprovalsApp {...props} />, { exitOnCtrlC: false, patchConsole: false });
  return { unmount: () => app.unmount() };
}
