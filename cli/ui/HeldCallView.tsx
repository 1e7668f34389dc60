import { Box, Text } from 'ink';
import type { HeldCall } from '../../src/types.js';
import type { ArgsViewport } from './args-viewport.js';
import { sanitizeInline } from '../../src/terminal-text.js';

export function heldForSeconds(call: Pick<HeldCall, 'held_since'>, now: number): number {
  const since = Date.parse(call.held_since);
  return Number.isNaN(since) ? 0 : Math.max(0, Math.floor((now - since) / 1000));
}

export interface HeldCallViewProps {
  call: HeldCall;
  now: number;
  /** Shown by `gov approvals`, where calls come from several runs. */
  showRun?: boolean;
  /** The call's arguments, scrolled (from useArgsViewport). */
  args: ArgsViewport;
  /** Extra line under the header, e.g. "+3 more held". */
  note?: string;
  /** Shown above the arguments, e.g. that they are a summary still being loaded in full. */
  notice?: string;
}

/** Seconds until the hold times out (null when it never does), for "N s left". */
export function secondsLeft(call: Pick<HeldCall, 'expires_at'>, now: number): number | null {
  if (call.expires_at === undefined) return null;
  const at = Date.parse(call.expires_at);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** One held call: what, where, why, and its arguments — every string sanitised. */
export function HeldCallView({ call, now, showRun, args, note, notice }: HeldCallViewProps) {
  const tool = sanitizeInline(call.tool, 80);
  const server = sanitizeInline(call.server, 80);
  const shown = args.rows.slice(args.offset, args.offset + args.height);
  const below = args.rows.length - args.offset - shown.length;
  const left = secondsLeft(call, now);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="yellow" paddingX={1}>
      <Text wrap="truncate-end">
        <Text color="yellow" bold>
          held
        </Text>{' '}
        <Text bold>{tool}</Text> on <Text bold>{server}</Text>{' '}
        <Text dimColor>
          ({sanitizeInline(call.method, 40)} · {sanitizeInline(call.id, 20)}
          {showRun ? ` · run ${sanitizeInline(call.run, 40)}` : ''}) held {heldForSeconds(call, now)} s
        </Text>
        {left !== null ? (
          <Text color={left <= 15 ? 'red' : 'yellow'}> · {left} s left, then denied</Text>
        ) : null}
        {note ? <Text color="cyan"> {note}</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>rule </Text>
        {sanitizeInline(call.rule, 60)}
        <Text dimColor> — </Text>
        {sanitizeInline(call.reason, 300)}
      </Text>
      {notice ? (
        <Text color="yellow" bold wrap="truncate-end">
          {notice}
        </Text>
      ) : null}
      {args.offset > 0 ? (
        <Text dimColor>
          ▲ {args.offset} line{args.offset === 1 ? '' : 's'} above (k/PgUp)
        </Text>
      ) : null}
      {shown.map((row, i) => (
        // Rows are pre-wrapped to fit; "wrap" (never "truncate") so a wider-than-counted
        // row (double-width characters) still shows every character.
        <Text key={args.offset + i} wrap="wrap">
          <Text dimColor>{row.continued ? '↪ ' : '  '}</Text>
          {row.text}
        </Text>
      ))}
      {below > 0 ? (
        <Text
          color={args.unseen > 0 ? 'yellow' : undefined}
          dimColor={args.unseen === 0}
          bold={args.unseen > 0}
        >
          ▼ {below} more line{below === 1 ? '' : 's'} below (j/PgDn/space)
          {args.unseen > 0 ? ` — ${args.unseen} never shown; read them before approving` : ''}
        </Text>
      ) : args.unseen > 0 ? (
        <Text color="yellow" bold>
          the arguments cannot be shown in full; approving is refused
        </Text>
      ) : null}
    </Box>
  );
}
