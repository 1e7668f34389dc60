import { Box, Text } from 'ink';
import type { DecisionKind, GovernedCallEvent } from '../../src/types.js';
import { sanitizeInline } from '../../src/terminal-text.js';

const DECISION_COLOR: Record<DecisionKind, string> = { allow: 'green', deny: 'red', approve: 'yellow' };

/** The last few governed calls, one line each: decision, method, target, rule. */
export function RecentCalls({ calls }: { calls: GovernedCallEvent[] }) {
  if (calls.length === 0) return null;
  return (
    <Box flexDirection="column">
      {calls.map((c, i) => (
        <Text key={i} wrap="truncate-end">
          <Text color={DECISION_COLOR[c.decision] ?? 'white'} bold>
            {c.decision.padEnd(7)}
          </Text>{' '}
          {sanitizeInline(c.method, 40)} <Text bold>{sanitizeInline(c.target, 80)}</Text>
          <Text dimColor>
            {' '}
            (rule {sanitizeInline(c.rule, 60)}){c.outcome ? ` → ${sanitizeInline(c.outcome, 20)}` : ''}
          </Text>
        </Text>
      ))}
    </Box>
  );
}
