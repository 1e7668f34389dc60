import { Box, Text } from 'ink';
import { sanitizeInline } from '../../src/terminal-text.js';

/**
 * The deny-reason line, naming the call it is for. When that call went away while the reason
 * was being typed, a line above says so; the keys still go to this line until Enter or Esc
 * closes it, so none of them acts on another call.
 */
export function ReasonPrompt({ call, text, gone }: { call: string; text: string; gone: boolean }) {
  return (
    <Box flexDirection="column">
      {gone ? (
        <Text color="yellow" wrap="truncate-end">
          {sanitizeInline(call, 80)} is no longer held — Enter or Esc closes this; nothing will be sent
        </Text>
      ) : null}
      <Text wrap="truncate-start">
        <Text color="red">deny {sanitizeInline(call, 80)}</Text> — reason (optional), Enter to deny, Esc to go
        back: {text}
        <Text inverse> </Text>
      </Text>
    </Box>
  );
}
