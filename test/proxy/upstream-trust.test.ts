import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, createSecureContext, type SecureContext, type Server } from 'node:tls';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { upstreamTrust } from '../../src/proxy/upstream-trust.js';

/** A TLS server for `localhost` whose certificate chains to a throwaway CA of its own. */
async function serverWith(pki: TestPki): Promise<{ server: Server; port: number }> {
  const server = createServer({ key: pki.keyPem, cert: pki.certPem }, (s) => s.end('hello'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Whether a client verifying with `secureContext` accepts the server (its error otherwise). */
function verifies(port: number, secureContext: SecureContext): Promise<true | string> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', servername: 'localhost', secureContext }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('upstreamTrust: the TLS context gov verifies upstream servers with', () => {
  let a: TestPki;
  let b: TestPki;
  let servers: { server: Server; port: number }[];
  beforeAll(async () => {
    a = makeTestPki('upstream trust test CA A');
    b = makeTestPki('upstream trust test CA B');
    servers = [await serverWith(a), await serverWith(b)];
  });
  afterAll(() => {
    for (const s of servers) s.server.close();
  });

  it('trusts each --upstream-ca, and nothing private without one', async () => {
    const [sa, sb] = [servers[0]!, servers[1]!];
    const both = upstreamTrust([a.caPem, b.caPem]);
    expect(await verifies(sa.port, both)).toBe(true);
    expect(await verifies(sb.port, both)).toBe(true);
    expect(await verifies(sb.port, upstreamTrust([a.caPem]))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await verifies(sa.port, upstreamTrust([]))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  // The extra CAs go into the context's own copy of Node's root store: were they added to the
  // shared store, every TLS client in gov (OTLP export, webhooks) would trust them too.
  it("leaves Node's shared root store as it was", async () => {
    const sa = servers[0]!;
    upstreamTrust([a.caPem]);
    expect(await verifies(sa.port, createSecureContext())).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await verifies(sa.port, upstreamTrust([]))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
