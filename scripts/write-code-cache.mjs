// `npm run build`, after the bundles: write the V8 code caches that bin/load-bundle.js uses on
// Node 20 (Node 22.1+ keeps its own). A cache holds the code compiled while its bundle ran, so
// each bundle runs once, in a process of its own, through the path it takes in use:
// - gov.cjs: `gov run` with a fresh home, its proxy and a child that makes an MCP session's
//   first calls (initialize, tools/list, tools/call) through it to a local server, so a run's
//   first call finds the proxy's, the pipeline's and the audit's code compiled;
// - undici.cjs: an upstream client built as gov builds it, and a request through it;
// - env-proxy-agent.cjs: the preload's proxy agent as a child's fetch dispatcher, a request
//   through it to a local proxy.
// The caches are written only here, never at run time.
//
// Usage (by `npm run build`): node scripts/write-code-cache.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE, CODE_CACHE, cacheStamp, compileBundle, runBundle } from '../bin/load-bundle.js';

/** An MCP session's first three requests. */
const SESSION = ['initialize', 'tools/list', 'tools/call'].map((method) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method,
    params: method === 'tools/call' ? { name: 'echo', arguments: { text: 'hi' } } : {},
  }),
);

/** The gov workload's child: node, posting SESSION to the URL in its argv (through gov). */
const MCP_CHILD = `(async () => {
  for (const body of ${JSON.stringify(SESSION)}) {
    const r = await fetch(process.argv[1], {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
    });
    if (!r.ok) process.exit(1);
    await r.text();
  }
})();`;

/** A local MCP server's answers, enough for SESSION. */
function answerMcp(body) {
  const { id, method } = JSON.parse(body);
  const result =
    method === 'initialize'
      ? {
          protocolVersion: '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'cache', version: '1' },
        }
      : method === 'tools/list'
        ? { tools: [{ name: 'echo', description: 'Echoes its text.', inputSchema: { type: 'object' } }] }
        : { content: [{ type: 'text', text: 'hi' }] };
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

/**
 * A local MCP server on loopback, answering each POST; also a proxy to itself (a CONNECT
 * tunnel reaches the same server), for the proxy agent. Its `/mcp` URL and a stop function.
 */
async function startMcpServer() {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(answerMcp(body));
    });
  });
  server.on('connect', (_req, socket, head) => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    server.emit('connection', socket);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = () => {
    server.closeAllConnections();
    server.close();
  };
  return { url: `http://127.0.0.1:${server.address().port}/mcp`, port: server.address().port, stop };
}

const UNDICI = fileURLToPath(new URL('../dist/bundle/undici.cjs', import.meta.url));
const PROXY_AGENT = fileURLToPath(new URL('../dist/bundle/env-proxy-agent.cjs', import.meta.url));

/** Compile `file` without a cache, run `use` over it, and write what V8 compiled as its cache. */
async function withCacheOf(file, cacheFile, use) {
  const { script, source } = compileBundle(file, null);
  await use(script);
  writeCache(cacheFile, script, source);
}

/** What V8 compiled of `script` so far, after the stamp of the source it came from. */
function writeCache(cacheFile, script, source) {
  writeFileSync(cacheFile, Buffer.concat([Buffer.from(cacheStamp(source)), script.createCachedData()]));
}

/** SESSION through an upstream client built as gov builds it (src/transport/http/upstream.ts). */
async function undiciWorkload(script) {
  const { Agent, request, buildConnector } = runBundle(script, UNDICI);
  const server = await startMcpServer();
  const connect = buildConnector({ rejectUnauthorized: true, timeout: 10_000 });
  const agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0, connect });
  for (const body of SESSION) {
    const r = await request.call(agent, {
      origin: new URL(server.url).origin,
      path: '/mcp',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await r.body.text();
  }
  await agent.close();
  server.stop();
}

/** SESSION by fetch with the proxy agent as its dispatcher, as the preload makes it. */
async function proxyAgentWorkload(script) {
  const EnvHttpProxyAgent = runBundle(script, PROXY_AGENT);
  const server = await startMcpServer();
  process.env['HTTP_PROXY'] = `http://gov:token@127.0.0.1:${server.port}`;
  const dispatcher = new EnvHttpProxyAgent();
  for (const body of SESSION) {
    const r = await fetch('http://mcp.example/mcp', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      dispatcher,
    });
    await r.text();
  }
  await dispatcher.close();
  server.stop();
}

const mode = process.argv[2];
if (mode === '--workload=gov') {
  const { url } = await startMcpServer(); // ends with the process
  const policy = join(process.env['GOV_HOME'], 'allow.yaml');
  writeFileSync(policy, 'version: 1\ndefault: allow\n');
  const { script, source } = compileBundle(BUNDLE, null);
  const args = [
    'run',
    '--no-tui',
    '--quiet',
    '--policy',
    policy,
    '--',
    process.execPath,
    '-e',
    MCP_CHILD,
    url,
  ];
  process.argv = [process.argv[0], fileURLToPath(new URL('../bin/gov.js', import.meta.url)), ...args];
  process.on('exit', (code) => {
    if (code === 0) writeCache(CODE_CACHE, script, source);
  });
  runBundle(script);
} else if (mode === '--workload=undici') {
  await withCacheOf(UNDICI, `${UNDICI}.cache`, undiciWorkload);
} else if (mode === '--workload=proxy-agent') {
  await withCacheOf(PROXY_AGENT, `${PROXY_AGENT}.cache`, proxyAgentWorkload);
} else {
  const home = mkdtempSync(join(tmpdir(), 'gov-code-cache-'));
  try {
    const env = { ...process.env, GOV_HOME: home };
    for (const name of ['NODE_OPTIONS', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'])
      delete env[name];
    for (const [workload, cacheFile, what] of [
      ['gov', CODE_CACHE, 'gov run with an MCP session'],
      ['undici', `${UNDICI}.cache`, 'an upstream request'],
      ['proxy-agent', `${PROXY_AGENT}.cache`, 'a request through the proxy agent'],
    ]) {
      rmSync(cacheFile, { force: true });
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--workload=${workload}`], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 60_000,
      });
      // Without a cache gov still works, only slower: say so and let the build finish.
      if (r.status !== 0)
        process.stderr.write(
          `write-code-cache: no code cache (${what} failed: ${r.error?.message ?? r.stderr})\n`,
        );
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
