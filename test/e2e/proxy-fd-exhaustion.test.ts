/**
 * Descriptor exhaustion at the start of a run: the agent opens more connections to the proxy
 * than gov has descriptors, then lets them go. gov must recover once descriptors are free
 * again (a failure while it loaded its HTTP client used to be kept for the whole run).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOV_BIN, ROOT, tempHome } from '../helpers/gov-process.js';

const AGENT = String.raw`
import net from 'node:net';
import { readdirSync } from 'node:fs';
const p = new URL(process.env.HTTPS_PROXY);
const auth = 'Basic ' + Buffer.from(decodeURIComponent(p.username) + ':' + decodeURIComponent(p.password)).toString('base64');
// gov is this agent's parent: its open descriptors say when it ran out and when it has some again.
const govFds = () => { try { return readdirSync('/proc/' + process.ppid + '/fd').length; } catch { return -1; } };
const until = async (what, ok) => {
  const end = Date.now() + 20000;
  while (!ok()) {
    if (Date.now() > end) { console.log(JSON.stringify({ timeout: what, fds: govFds() })); process.exit(1); }
    await new Promise((r) => setTimeout(r, 20));
  }
};
const socks = [];
for (let i = 0; i < 600; i++) { const s = net.connect(Number(p.port), p.hostname); s.on('error', () => {}); socks.push(s); }
await until('gov out of descriptors', () => govFds() >= 390);
const get = () => new Promise((resolve) => {
  const s = net.connect(Number(p.port), p.hostname, () =>
    s.write('GET http://127.0.0.1:' + process.env.UP + '/x HTTP/1.1\r\nHost: 127.0.0.1:' + process.env.UP + '\r\nProxy-Authorization: ' + auth + '\r\nConnection: close\r\n\r\n'));
  let t = '';
  const timer = setTimeout(() => s.destroy(), 5000);
  const done = () => { clearTimeout(timer); resolve(t); };
  s.on('data', (d) => (t += d)); s.on('close', done); s.on('error', done);
});
await get(); // during exhaustion: refused or reset, either is fine
for (const s of socks) s.destroy();
await until('gov released the descriptors', () => govFds() < 200);
// Recovered means a request through gov succeeds again (the bug kept the failure for the run).
let after = '';
for (const end = Date.now() + 20000; Date.now() < end; ) {
  after = await get();
  if (after.startsWith('HTTP/1.1 200')) break;
  await new Promise((r) => setTimeout(r, 50));
}
console.log(JSON.stringify({ after }));
`;

describe('gov run under descriptor exhaustion', () => {
  it('serves again once the agent releases its connections', async () => {
    const up = createServer((_q, r) => r.end('ok'));
    up.listen(0, '127.0.0.1');
    await once(up, 'listening');
    const home = tempHome();
    const agent = join(home, 'agent.mjs');
    writeFileSync(agent, AGENT);
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, 'version: 1\ndefault: allow\n');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GOV_HOME: home,
      UP: String((up.address() as AddressInfo).port),
    };
    delete env['NODE_OPTIONS'];
    const gov = spawn(
      'sh',
      [
        '-c',
        `ulimit -n 400 && exec "$0" "$@"`,
        process.execPath,
        GOV_BIN,
        'run',
        '--no-tui',
        '--policy',
        policy,
        '--',
        process.execPath,
        agent,
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    gov.stdout.on('data', (d: Buffer) => (out += d));
    gov.stderr.on('data', (d: Buffer) => (err += d));
    await once(gov, 'close');
    up.close();
    const line = out.split('\n').find((l) => l.startsWith('{"after"'));
    expect(line, err).toBeDefined();
    const after = (JSON.parse(line!) as { after: string }).after;
    expect(after.split('\r\n')[0], after + err).toBe('HTTP/1.1 200 OK');
  }, 60_000);
});
