/** A minimal stdio MCP server for the `gov mcp wrap` row: newline-delimited JSON-RPC, echoes tools/call. */
import { createInterface } from 'node:readline';
import { toolResult, TOOLS_LIST } from './payload.js';

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let msg: { id?: number | string; method?: string; params?: { arguments?: unknown } };
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    return;
  }
  if (msg.id === undefined || msg.method === undefined) return;
  let out: string;
  if (msg.method === 'tools/call') out = toolResult(msg.id, JSON.stringify(msg.params?.arguments ?? {}));
  else if (msg.method === 'tools/list')
    out = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: TOOLS_LIST });
  else if (msg.method === 'initialize') {
    out = JSON.stringify({
      jsonrpc: '2.0',
      id: msg.id,
      result: {
        protocolVersion: '2025-06-18',
        capabilities: { tools: {} },
        serverInfo: { name: 'bench-stdio', version: '1' },
      },
    });
  } else out = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: {} });
  process.stdout.write(out + '\n');
});
rl.on('close', () => process.exit(0));
