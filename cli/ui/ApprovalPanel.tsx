import { useRef, useState } from 'react';
import { Box, Text, useStdin, type Key } from 'ink';
import type { ApprovalVerdict } from '../../src/types.js';
import { CHOOSE, promptKey, type PromptState } from './approval-keys.js';
import { scrollKey, unseenRefusal, useArgsViewport } from './args-viewport.js';
import { ReasonPrompt } from './ReasonPrompt.js';
import { HeldCallView } from './HeldCallView.js';
import { editLine } from './line-edit.js';
import {
  useArmed,
  useChangedAt,
  useHeldCalls,
  useLastEnded,
  useLatestInput,
  useNow,
  useRecent,
  useTerminalSize,
  type RecentCallLog,
  type RecentLog,
  type HeldCallSource,
} from './panel-hooks.js';
import { RecentCalls } from './RecentCalls.js';
import { PinAlerts } from './PinAlerts.js';
import type { PinAlert } from '../../src/safety/pins-config.js';
import { endedNote } from '../../src/approvals/ended-calls.js';
import { sanitizeInline } from '../../src/terminal-text.js';

export interface ApprovalPanelProps {
  /** The run's ApprovalBroker (or anything with the same list/subscribe/settle). */
  broker: HeldCallSource & { settle(id: string, verdict: ApprovalVerdict): boolean };
  calls?: RecentCallLog;
  /** Tool pin alerts: a changed or new tool, suspected poisoning. */
  pinAlerts?: RecentLog<PinAlert>;
  /** A line typed while nothing is held (without its newline); omit to hide the input line. */
  onLine?: (line: string) => void;
  /** Ctrl-D on an empty input line. */
  onEof?: () => void;
  /** Ctrl-C (the terminal is in raw mode, so no SIGINT reaches anyone by itself). */
  onInterrupt?: () => void;
  /** Keys are ignored this long after the held call on screen changes. */
  keyGuardMs?: number;
}

/** The inline panel of `gov run`: recent governed calls, the oldest held call and its keys. */
export function ApprovalPanel({
  broker,
  calls,
  pinAlerts,
  onLine,
  onEof,
  onInterrupt,
  keyGuardMs = 300,
}: ApprovalPanelProps) {
  const { isRawModeSupported } = useStdin();
  const held = useHeldCalls(broker);
  const recent = useRecent(calls);
  const alerts = useRecent(pinAlerts);
  const lastEnded = useLastEnded(broker);
  const { columns, rows } = useTerminalSize();
  const head = held[0];
  // The live region must stay shorter than the terminal; the rest of the panel takes ~12 rows
  // (and up to about two per pin alert).
  const args = useArgsViewport(head, columns, Math.max(3, Math.min(12, rows - 14 - 2 * alerts.length)));
  const now = useNow(head !== undefined);
  const sinceHeadChanged = useChangedAt(head?.id);
  // Keys can arrive faster than React re-renders (a paste, a fast typist), so the
  // editing state lives in a ref and every keystroke sees the previous one's result.
  const state = useRef<{ prompt: PromptState; draft: string; refused?: string }>({
    prompt: CHOOSE,
    draft: '',
  });
  const [, setVersion] = useState(0);
  const update = (next: { prompt: PromptState; draft: string; refused?: string }) => {
    state.current = next;
    setVersion((v) => v + 1);
  };

  // The reason prompt belongs to one call, and stays (saying so) if that call goes away.
  const activePrompt = state.current.prompt;
  const promptCallGone = activePrompt.mode === 'reason' && !held.some((c) => c.id === activePrompt.id);
  const draft = state.current.draft;

  useLatestInput((input: string, key: Key) => {
    if (key.ctrl && input === 'c') {
      onInterrupt?.();
      return;
    }
    const { draft, prompt } = state.current;
    if (head !== undefined || prompt.mode === 'reason') {
      if (prompt.mode === 'choose' && scrollKey(args, input, key, true)) return update({ prompt, draft });
      if (prompt.mode === 'choose' && sinceHeadChanged() < keyGuardMs) return;
      const step = promptKey(prompt, head?.id, input, key, 'tui', unseenRefusal(args));
      const sent = step.settle ? broker.settle(step.settle.id, step.settle.verdict) : true;
      const refused = sent ? step.refused : 'that call is no longer held; nothing was sent';
      update({ prompt: step.state, draft, ...(refused ? { refused } : {}) });
      return;
    }
    if (!onLine) return;
    if (key.ctrl && input === 'd' && draft === '') {
      onEof?.();
      return;
    }
    const r = editLine(draft, input, key);
    update({ prompt, draft: r.text });
    for (const line of r.submitted) onLine(line);
  }, isRawModeSupported === true);

  // Keys pressed within keyGuardMs of a new call appearing are ignored (they were meant for
  // the agent); the key hints appear once they count, so the human sees when keys are live.
  const armed = useArmed(head?.id, keyGuardMs);

  const others = held.length - 1;
  return (
    <Box flexDirection="column" width={columns}>
      <Text dimColor wrap="truncate-end">
        {'─ gov '.padEnd(Math.max(6, columns - 1), '─')}
      </Text>
      <PinAlerts alerts={alerts} />
      <RecentCalls calls={recent} />
      {lastEnded ? (
        <Text color="yellow" wrap="truncate-end">
          {sanitizeInline(endedNote(lastEnded), 300)}
        </Text>
      ) : null}
      {head ? (
        <Box flexDirection="column">
          <HeldCallView
            call={head}
            now={now}
            args={args}
            {...(others > 0 ? { note: `+${others} more held` } : {})}
          />
          {activePrompt.mode === 'reason' ? null : !armed ? (
            <Text dimColor wrap="truncate-end">
              keys are live in a moment…
            </Text>
          ) : (
            <Text wrap="truncate-end">
              <Text bold color="green">
                a
              </Text>{' '}
              approve once ·{' '}
              <Text bold color="green">
                A
              </Text>{' '}
              approve {sanitizeInline(head.tool, 40)} for the rest of the run ·{' '}
              <Text bold color="red">
                d
              </Text>{' '}
              deny
            </Text>
          )}
        </Box>
      ) : activePrompt.mode === 'reason' ? null : onLine ? (
        <Text wrap="truncate-start">
          <Text color="cyan">›</Text> {draft}
          <Text inverse> </Text>
          {draft === '' ? <Text dimColor> type a line for the agent, Enter sends it</Text> : null}
        </Text>
      ) : (
        <Text dimColor>no held calls</Text>
      )}
      {state.current.refused && activePrompt.mode === 'choose' ? (
        <Text color="red" wrap="truncate-end">
          {state.current.refused}
        </Text>
      ) : null}
      {activePrompt.mode === 'reason' ? (
        <ReasonPrompt call={activePrompt.id} text={activePrompt.text} gone={promptCallGone} />
      ) : null}
    </Box>
  );
}
