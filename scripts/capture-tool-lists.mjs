// Captures the tools/list of the reference MCP servers (devDependencies) into
// test/fixtures/tool-lists/, for the poisoning scan's false-positive test. Run once:
//   node scripts/capture-tool-lists.mjs
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const dir = mkdtempSync(join(tmpdir(), 'gov-capture-'));
const SERVERS = {
  'server-everything': ['stdio'],
  'server-filesystem': [dir],
  'server-memory': [],
  'server-sequential-thinking': [],
};

for (const [name, args] of Object.entries(SERVERS)) {
  const pkg = `node_modules/@modelcontextprotocol/${name}/dist/index.js`;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [pkg, ...args],
    env: { ...process.env, MEMORY_FILE_PATH: join(dir, 'memory.json') },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'gov-capture', version: '1' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  const version = (
    await import(`../node_modules/@modelcontextprotocol/${name}/package.json`, { with: { type: 'json' } })
  ).default.version;
  writeFileSync(
    `test/fixtures/tool-lists/${name}.json`,
    JSON.stringify({ server: `@modelcontextprotocol/${name}`, version, tools }, null, 2) + '\n',
  );
  console.log(`${name}: ${tools.length} tools`);
  await client.close();
}
