// A small MCP client for the conformance suite's client scenarios, standing in for the
// reference everything-client (which lives in the conformance repository, not on npm).
// The suite appends the server URL and names the scenario in MCP_CONFORMANCE_SCENARIO.
// It connects, answers elicitations with the schema's defaults, lists the tools and calls
// each one with arguments made from its input schema, printing one JSON line per tool call
// (`npm run conformance` compares them directly and through gov for server-everything). A URL
// ending in /sse uses the legacy HTTP+SSE transport.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const url = process.argv[process.argv.length - 1];
const client = new Client(
  { name: 'gov-conformance-client', version: '1.0.0' },
  { capabilities: { elicitation: { form: { applyDefaults: true } } } },
);
client.setRequestHandler(ElicitRequestSchema, async (req) => {
  const props = req.params.requestedSchema?.properties ?? {};
  const content = {};
  for (const [k, p] of Object.entries(props)) if (p && 'default' in p) content[k] = p.default;
  return { action: 'accept', content };
});

const sample = (schema) => {
  switch (schema?.type) {
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return 'x';
  }
};

try {
  const target = new URL(url);
  await client.connect(
    target.pathname.endsWith('/sse')
      ? new SSEClientTransport(target)
      : new StreamableHTTPClientTransport(target),
  );
  const { tools } = await client.listTools();
  for (const t of tools) {
    const args = {};
    for (const [k, p] of Object.entries(t.inputSchema?.properties ?? {})) args[k] = sample(p);
    const outcome = await client.callTool({ name: t.name, arguments: args }).then(
      (r) => (r.isError ? 'tool error' : 'ok'),
      (err) => `error ${err.code ?? ''}`.trim(),
    );
    console.log(JSON.stringify({ tool: t.name, outcome }));
  }
} catch (err) {
  console.error(String(err?.message ?? err));
  process.exitCode = 1;
} finally {
  await client.close().catch(() => {});
}
