/**
 * A hostile OTLP collector: redirects (to another host, to file:), a huge answer, an
 * unverifiable certificate, terminal escapes in its status line. Records and headers (a
 * vault value among them) must go only to the configured collector, and what gov prints
 * about the failure must be inert text.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { AuditOtlpExporter } from '../../src/audit/otlp-export.js';
import type { AuditRecord } from '../../src/types.js';
import { call } from './helpers.js';
import { makeTestPki } from '../helpers/test-ca.js';

const TOKEN = 'otlp-vault-value-Zr8Kp3Lm';
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function listen(s: Server | ReturnType<typeof createNetServer>): Promise<number> {
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  closers.push(() => s.close());
  return (s.address() as AddressInfo).port;
}

/** A collector that records what reached it. */
async function sink(): Promise<{ url: string; got: IncomingMessage[] }> {
  const got: IncomingMessage[] = [];
  const s = createServer((req, res) => {
    got.push(req);
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  const port = await listen(s);
  return { url: `http://127.0.0.1:${port}`, got };
}

async function exportOnce(
  endpoint: string,
  timeoutMs = 2000,
): Promise<{ failures: string[]; exporter: AuditOtlpExporter }> {
  const failures: string[] = [];
  const exporter = new AuditOtlpExporter(
    { endpoint, headers: { authorization: `Bearer ${TOKEN}` } },
    { delayMs: 1, timeoutMs, backoffMs: 60_000, onFailure: (m) => failures.push(m) },
  );
  exporter.push(call(1) as AuditRecord);
  const deadline = Date.now() + 8000;
  while (failures.length === 0 && exporter.counts().shipped === 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  await exporter.shutdown(500);
  return { failures, exporter };
}

describe('a hostile OTLP collector', () => {
  it('a redirect is not followed: neither records nor the vault header reach the other host', async () => {
    const other = await sink();
    for (const location of [`${other.url}/v1/logs`, 'file:///etc/passwd']) {
      const s = createServer((req, res) => {
        req.resume();
        res.writeHead(307, { location }).end();
      });
      const port = await listen(s);
      const { failures, exporter } = await exportOnce(`http://127.0.0.1:${port}`);
      expect(exporter.counts().shipped).toBe(0);
      expect(failures.join('')).not.toContain(TOKEN);
    }
    expect(other.got).toHaveLength(0);
  });

  it('an unverifiable certificate is refused before the header is sent', async () => {
    const pki = makeTestPki('untrusted collector CA');
    let requests = 0;
    const s = createHttpsServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
      requests++;
      req.resume();
      res.end('{}');
    });
    const port = await listen(s);
    const { failures, exporter } = await exportOnce(`https://127.0.0.1:${port}`);
    expect(exporter.counts().shipped).toBe(0);
    expect(requests).toBe(0);
    expect(failures).toHaveLength(1);
  });

  it('a huge answer is cut off (no unbounded buffering)', async () => {
    const s = createServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      let sent = 0;
      const pump = () => {
        while (sent < 256 && res.write(chunk)) sent++;
        if (sent < 256) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    const port = await listen(s);
    const before = process.memoryUsage().rss;
    const { exporter } = await exportOnce(`http://127.0.0.1:${port}`, 5000);
    expect(exporter.counts().shipped).toBe(0);
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 1024 * 1024);
  });

  it('terminal escapes in the status line do not reach the failure message', async () => {
    const s = createNetServer((c) => {
      c.once('data', () =>
        c.end(
          'HTTP/1.1 400 \x1b]0;owned\x07\x1b[2J\x1b[31mRED\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
        ),
      );
    });
    const port = await listen(s);
    const { failures } = await exportOnce(`http://127.0.0.1:${port}`);
    expect(failures).toHaveLength(1);
    expect(failures[0]).not.toMatch(/\x1b|\x07/);
  });
});
