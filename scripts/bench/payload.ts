/**
 * Bench payloads, built deterministically so in-process and end-to-end runs scan the same
 * bytes: log-like text with a planted secret every ~100 KB (so the scanner does real work).
 */

const WORDS = [
  'alpha',
  'request',
  'user',
  'items',
  'status',
  'cache',
  'miss',
  'hit',
  'region',
  'eu-west-1',
  'retry',
];

/** About `bytes` of ASCII text: log lines, a fake GitHub token planted every ~100 KB. */
export function logText(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  let i = 0;
  let nextSecret = 100_000;
  while (size < bytes) {
    let line = `2025-01-01T00:00:${String(i % 60).padStart(2, '0')}Z INFO ${WORDS[i % WORDS.length]} id=${(i * 2654435761) >>> 0} path=/api/v1/${WORDS[(i * 7) % WORDS.length]} status=200 bytes=${i % 9973}\n`;
    if (size >= nextSecret) {
      line = `2025-01-01T00:00:00Z WARN token=ghp_${'A1b2C3d4E5'.repeat(3)}123456 leaked in debug output\n`;
      nextSecret += 100_000;
    }
    parts.push(line);
    size += line.length;
    i++;
  }
  return parts.join('');
}

/** A tools/call result carrying `text`. */
export function toolResult(id: number | string | null, text: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    result: { content: [{ type: 'text', text }], isError: false },
  });
}

export const TOOLS_LIST = {
  tools: [
    { name: 'echo', description: 'Echo the arguments', inputSchema: { type: 'object' } },
    { name: 'big', description: 'A 10 MB result', inputSchema: { type: 'object' } },
    {
      name: 'hold_me',
      description: 'Held for approval by the bench policy',
      inputSchema: { type: 'object' },
    },
  ],
};
