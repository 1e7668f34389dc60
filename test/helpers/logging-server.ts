import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestPki } from './test-ca.js';

export interface LoggedRequest {
  method: string;
  url: string;
  /** Every header line as received, repeats included. */
  rawHeaders: string[];
  body: string;
}

export interface LoggingServer {
  port: number;
  url: string;
  /** Everything the server received, in order. */
  log: LoggedRequest[];
  /** The whole log as one text, for grepping. */
  text(): string;
  close(): Promise<void>;
}

/**
 * A server that logs every request line, header and body it receives and answers 200 "ok":
 * the evidence of what reached an upstream. HTTPS with the test PKI, or plain HTTP.
 */
export async function startLoggingServer(pki: TestPki | null, host = '127.0.0.1'): Promise<LoggingServer> {
  const log: LoggedRequest[] = [];
  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      log.push({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('latin1'),
      });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  };
  const server: Server = pki
    ? createHttpsServer({ key: pki.keyPem, cert: pki.certPem }, handler)
    : createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${pki ? 'https' : 'http'}://${host}:${port}`,
    log,
    text: () => JSON.stringify(log),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
