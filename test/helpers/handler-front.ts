/**
 * gov's HTTP handler (the real pipeline and upstream client) in front of a plain-HTTP upstream
 * on loopback: what a test's client talks to instead of the whole `gov run` proxy.
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { createHttpHandler, type HttpHandlerOptions } from '../../src/transport/http/http-handler.js';
import { Upstream } from '../../src/transport/http/upstream.js';

export interface HandlerFront {
  /** `http://127.0.0.1:PORT`: paths are relayed to the upstream as they are. */
  origin: string;
  close(): Promise<void>;
}

export async function startHandlerFront(
  upstreamPort: number,
  o: Omit<HttpHandlerOptions, 'upstream'>,
): Promise<HandlerFront> {
  const gov = new Upstream({});
  const handler = createHttpHandler({ ...o, upstream: gov });
  const front = createServer((req, res) => {
    const path = req.url ?? '/';
    void handler({
      req,
      res,
      target: { scheme: 'http', host: '127.0.0.1', port: upstreamPort },
      path,
      url: `http://127.0.0.1:${upstreamPort}${path}`,
    });
  });
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  return {
    origin: `http://127.0.0.1:${(front.address() as { port: number }).port}`,
    async close() {
      await gov.close();
      front.close();
    },
  };
}
