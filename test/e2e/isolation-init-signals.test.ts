import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { isolationSupport } from '../../src/isolation/availability.js';

const supported = isolationSupport().ok;

/**
 * The sandbox's PID 1 is `node sandbox-init.cjs`, running as root of the outer user namespace
 * (CAP_SYS_ADMIN over the sandbox's mount namespace). The child has the same kernel uid, so
 * it may signal it; PID-1 protection lets through every signal with a handler, and Node has
 * one for SIGUSR1: it opens the inspector on 127.0.0.1:9229 — inside the sandbox, where the
 * child can reach it — and the child then runs code as the init: unmount the covers over
 * $GOV_HOME (audit key, CA key, vault, audit files) or over the keyring's bus socket.
 *
 * The probe (run as the child): SIGUSR1 to PID 1, the inspector's /json/list over a raw
 * socket, then Runtime.evaluate of argv[2] over a hand-rolled WebSocket.
 */
const PROBE = [
  "// Runs as the isolated child: wake PID 1's (node sandbox-init.cjs) inspector with SIGUSR1,",
  '// then evaluate code in it over the DevTools protocol (raw WebSocket over node:net).',
  "import http from 'node:http';",
  "import net from 'node:net';",
  "import crypto from 'node:crypto';",
  'const expr = process.argv[2];',
  "setTimeout(() => { process.stdout.write('probe timed out\\n'); process.exit(5); }, 10_000).unref();",
  "const out = (m) => process.stdout.write(m + '\\n');",
  "try { process.kill(1, 'SIGUSR1'); out('sent SIGUSR1 to pid 1'); } catch (e) { out('kill failed: ' + e.message); process.exit(3); }",
  '// The inspector opens a little after the signal: try for up to 3 s.',
  'const ask = () => new Promise((res, rej) => {',
  "  const c = net.connect(9229, '127.0.0.1'); let b = '';",
  "  c.on('connect', () => c.write('GET /json/list HTTP/1.0\\r\\nHost: 127.0.0.1:9229\\r\\n\\r\\n'));",
  "  c.on('data', (d) => { b += d; try { res(JSON.parse(b.slice(b.indexOf('\\r\\n\\r\\n') + 4))); c.destroy(); } catch {} });",
  "  c.on('error', rej);",
  '});',
  'let list;',
  'for (const end = Date.now() + 3000; !list; ) {',
  '  list = await ask().catch((e) => {',
  "    if (Date.now() > end) { out('inspector not reachable: ' + e.message); process.exit(4); }",
  '    return new Promise((r) => setTimeout(r, 100));',
  '  });',
  '}',
  'const u = new URL(list[0].webSocketDebuggerUrl);',
  "out('inspector: ' + u.href);",
  'const s = net.connect(Number(u.port), u.hostname);',
  "const key = crypto.randomBytes(16).toString('base64');",
  's.write(`GET ${u.pathname} HTTP/1.1\\r\\nHost: ${u.host}\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: ${key}\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n`);',
  'let buf = Buffer.alloc(0); let upgraded = false;',
  'function send(obj) {',
  '  const p = Buffer.from(JSON.stringify(obj)); const mask = crypto.randomBytes(4);',
  '  let h; if (p.length < 126) h = Buffer.from([0x81, 0x80 | p.length]);',
  '  else if (p.length < 65536) { h = Buffer.alloc(4); h[0] = 0x81; h[1] = 0x80 | 126; h.writeUInt16BE(p.length, 2); }',
  '  else { h = Buffer.alloc(10); h[0] = 0x81; h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(p.length), 2); }',
  '  const m = Buffer.from(p.map((b, i) => b ^ mask[i % 4]));',
  '  s.write(Buffer.concat([h, mask, m]));',
  '}',
  "s.on('data', (d) => {",
  '  buf = Buffer.concat([buf, d]);',
  "  if (!upgraded) { const i = buf.indexOf('\\r\\n\\r\\n'); if (i < 0) return; upgraded = true; buf = buf.subarray(i + 4);",
  "    send({ id: 1, method: 'Runtime.evaluate', params: { expression: expr, awaitPromise: true, returnByValue: true } }); }",
  '  while (buf.length >= 2) {',
  '    let len = buf[1] & 0x7f, off = 2;',
  '    if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }',
  '    else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }',
  '    if (buf.length < off + len) return;',
  '    const msg = JSON.parse(buf.subarray(off, off + len).toString()); buf = buf.subarray(off + len);',
  "    if (msg.id === 1) { out('RESULT ' + JSON.stringify(msg.result)); s.destroy(); process.exit(0); }",
  '  }',
  '});',
].join('\n');

describe.skipIf(!supported)('gov run --isolate: the child cannot take over the sandbox init', () => {
  let home: string;
  let work: string;
  beforeAll(async () => {
    home = tempHome('gov-iso-usr1-');
    await sealWithFastKdf(home, 'pass-usr1-Xk2');
    work = mkdtempSync(join(tmpdir(), 'gov-iso-usr1-w-'));
    writeFileSync(join(work, 'probe.mjs'), PROBE);
    writeFileSync(join(work, 'gov.yaml'), 'version: 1\ndefault: allow\n');
    writeFileSync(join(home, 'marker.txt'), 'GOV-HOME-CONTENT-7f3a');
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('SIGUSR1 to PID 1 gives the child no debugger in the init, and $GOV_HOME stays covered', async () => {
    const expr =
      "process.getBuiltinModule('child_process').execSync(" +
      JSON.stringify(`umount ${home}; cat ${home}/marker.txt`) +
      ').toString()';
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--isolate',
        '--policy',
        join(work, 'gov.yaml'),
        '--',
        'sh',
        '-c',
        `node ${join(work, 'probe.mjs')} "$0"; cat ${home}/marker.txt 2>/dev/null && echo CHILD-READ-GOV-HOME; true`,
        expr,
      ],
      {
        env: { GOV_HOME: home, GOV_VAULT_BACKEND: 'passphrase', GOV_VAULT_PASSPHRASE: 'pass-usr1-Xk2' },
        timeoutMs: 60_000,
      },
    );
    expect(r.stdout).toMatch(/sent SIGUSR1 to pid 1/);
    expect(r.stdout).toMatch(/inspector not reachable/);
    expect(r.stdout).not.toMatch(/inspector: ws:/);
    expect(r.stdout).not.toMatch(/GOV-HOME-CONTENT-7f3a/);
    expect(r.stdout).not.toMatch(/CHILD-READ-GOV-HOME/);
  }, 90_000);
});
