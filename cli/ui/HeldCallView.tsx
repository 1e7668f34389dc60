import { Box, Text } from 'ink';
import type { HeldCall } from '../../src/types.js';
import { formatArgs } from './format-args.js';
import { sanitizeInline, truncate } from './sanitize.js';

export function heldForSeconds(call: Pick<HeldCall, 'held_since'>, now: number): number {
  const since = Date.parse(call.held_since);
  return Number.isNaN(since) ? 0 : Math.max(0, Math.floor((now - since) / 1000));
}

export interface HeldCallViewProps {
  call: HeldCall;
  now: number;
  columns: number;
  /** Shown by `gov approvals`, where calls come from several runs. */
  showRun?: boolean;
  maxArgLines?: number;
  /** Extra line under the header, e.g. "+3 more held". */
  note?: string;
}

/** One held call: what, where, why, and its arguments — every string sanitised. */
export function HeldCallView({ call, now, columns, showRun, maxArgLines = 10, note }: HeldCallViewProps) {
  const width = Math.max(20, columns - 4);
  const tool = sanitizeInline(call.tool, 80);
  const server = sanitizeInline(call.server, 80);
  const args = formatArgs(call.args, { maxLines: maxArgLines }).map((l) => truncate(l, width));
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
        {note ? <Text color="cyan"> {note}</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>rule </Text>
        {sanitizeInline(call.rule, 60)}
        <Text dimColor> — </Text>
        {sanitizeInline(call.reason, 300)}
      </Text>
      {args.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line}
        </Text>
      ))}
    </Box>
  );
}
