import { Box, Text } from 'ink';
import type { PinAlert } from '../../src/safety/pins-config.js';
import { pinAlertText, type PinAlertKind } from './pin-alert-text.js';

const LABEL: Record<PinAlertKind, { text: string; color: string }> = {
  poison: { text: 'poisoning', color: 'red' },
  changed: { text: 'tool changed', color: 'yellow' },
  new: { text: 'new tool', color: 'yellow' },
};

/** The latest pin alerts (a changed or new tool, suspected poisoning); each at most 240 characters. */
export function PinAlerts({ alerts }: { alerts: PinAlert[] }) {
  if (alerts.length === 0) return null;
  return (
    <Box flexDirection="column">
      {alerts.map((a, i) => {
        const { kind, text } = pinAlertText(a);
        return (
          <Text key={i} wrap="wrap">
            <Text color={LABEL[kind].color} bold>
              ⚠ {LABEL[kind].text}
            </Text>{' '}
            {text}
          </Text>
        );
      })}
    </Box>
  );
}
