// `npm run demo`: the bundled example, end to end, with no internet.
// Starts the demo MCP server, stores a demo secret in gov's vault, runs the stdlib-only Python
// agent under `gov run`, approves the one call the policy holds (as a human would from a second
// terminal), then shows the audit trail and verifies it.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const govBin = join(root, 'bin', 'gov.js');
const home = process.env.GOV_HOME ?? mkdtempSync(join(tmpdir(), 'gov-demo-'));
// A GOV_HOME made here (with its CA key and vault) is removed when the demo ends.
if (process.env.GOV_HOME === undefined)
  process.on('exit', () => rmSync(home, { recursive: true, force: true }));
const env = {
  ...process.env,
  GOV_HOME: home,
  GOV_VAULT_BACKEND: process.env.GOV_VAULT_BACKEND ?? 'passphrase',
  GOV_VAULT_PASSPHRASE: process.env.GOV_VAULT_PASSPHRASE ?? 'demo passphrase (not a real secret)',
};
const python = process.env.PYTHON ?? 'python3';
const say = (m) => process.stdout.write(`\x1b[1mdemo:\x1b[0m ${m}\n`);
const gov = (args, input) =>
  spawnSync(process.execPath, [govBin, ...args], { env, input, encoding: 'utf8', cwd: root });

say(`GOV_HOME=${home}`);
const server = spawn(process.execPath, [join(here, 'demo-server.mjs')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const { url, ca } = await new Promise((res, rej) => {
  const rl = createInterface({ input: server.stdout });
  rl.once('line', (l) => res(JSON.parse(l)));
  server.once('exit', () => rej(new Error('demo server failed to start')));
});
say(`demo MCP server at ${url}`);
// A credential goes only to its bound port: bind the demo token to the port the server got.
const policy = join(home, 'demo-policy.yaml');
writeFileSync(
  policy,
  readFileSync(join(here, 'gov.yaml'), 'utf8').replace(
    'hosts: [127.0.0.1]',
    `hosts: ['127.0.0.1:${new URL(url).port}']`,
  ),
);

const SECRET = 'demo-secret-token-0123456789';
const set = gov(['vault', 'set', 'demo-token'], `${SECRET}\n`);
if (set.status !== 0) {
  process.stderr.write(set.stderr);
  process.exit(1);
}
say('stored the secret "demo-token" in the vault; the agent only ever gets a placeholder');
const expected = `Bearer ${SECRET}`;
say(
  `the server should receive "Bearer <secret>": ${expected.length} characters, sha256 ${createHash('sha256').update(expected).digest('hex').slice(0, 16)} (compare with the demo server's log line)`,
);

const agent = spawn(
  process.execPath,
  [
    govBin,
    'run',
    '--no-tui',
    '--policy',
    policy,
    '--upstream-ca',
    ca,
    '--',
    python,
    join(here, 'mcp_agent.py'),
    url,
  ],
  { env, stdio: 'inherit', cwd: root },
);
const approver = setInterval(() => {
  const p = gov(['pending', '--json']);
  if (p.status !== 0) return;
  for (const call of JSON.parse(p.stdout || '[]')) {
    say(
      `a human approves held call ${call.id} (${call.tool} ${JSON.stringify(call.args)}) with: gov approve ${call.id}`,
    );
    gov(['approve', call.id]);
  }
}, 400);
const code = await new Promise((r) => agent.on('exit', (c) => r(c ?? 1)));
clearInterval(approver);
server.stdin.end();
server.kill();

say('the audit trail (gov audit tail -n 12):');
process.stdout.write(gov(['audit', 'tail', '-n', '12']).stdout);
const v = gov(['audit', 'verify']);
say(`gov audit verify: ${(v.stdout + v.stderr).trim()}`);
process.exit(code === 0 && v.status === 0 ? 0 : 1);
