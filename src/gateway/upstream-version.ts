/**
 * Strict protocol versions, upstream side: an `initialize` carries no `MCP-Protocol-Version`
 * header, so the version a session will speak is only known from the server's answer. In
 * strict mode gov holds back such an answer (JSON, or an SSE stream up to its first message)
 * and, when the server chose a version not accepted here, answers 502 instead: the client
 * never starts a session in a version the gateway refuses.
 */
import type { ServerResponse } from 'node:http';
import { SseParser } from '../mcp/sse.js';
import { isEventStream } from '../transport/http/sse-relay.js';
import { headerIn, type HeaderArg } from './response-headers.js';

/** An answer larger than this is no `initialize` result: it is released unchecked. */
const MAX_HELD_BYTES = 1024 * 1024;

/** The protocol version an `initialize` result names, if `text` (a message or batch) has one. */
function negotiatedVersion(text: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  for (const m of Array.isArray(v) ? v : [v]) {
    const r = (m as { result?: { protocolVersion?: unknown; capabilities?: unknown } } | null)?.result;
    if (r && typeof r.protocolVersion === 'string' && typeof r.capabilities === 'object')
      return r.protocolVersion;
  }
  return undefined;
}

/**
 * Hold back `res`'s answer until its first message is seen; `refuse(version)` is called (and
 * must answer through the given writeHead/end) when that message names a version outside
 * `accepted`. Everything else goes out unchanged.
 */
export function checkUpstreamVersion(
  res: ServerResponse,
  accepted: readonly string[],
  refuse: (version: string, send: (status: number, body: string) => void) => void,
): void {
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (chunk: unknown) => boolean;
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  const flushHeaders = res.flushHeaders.bind(res);
  let head: unknown[] | undefined;
  let held: Buffer[] = [];
  let heldBytes = 0;
  type State = 'idle' | 'holding' | 'released' | 'refused';
  let state: State = 'idle';
  let parser: SseParser | undefined;

  const restore = () => {
    res.writeHead = writeHead;
    res.write = write as ServerResponse['write'];
    res.end = end as ServerResponse['end'];
    res.flushHeaders = flushHeaders;
  };
  const release = () => {
    state = 'released';
    restore();
    writeHead(...head!);
    for (const b of held) write(b);
    held = [];
  };
  /** The first message decides; true once decided. */
  const decide = (text: string): boolean => {
    const version = negotiatedVersion(text);
    if (version === undefined || accepted.includes(version)) {
      release();
      return true;
    }
    // The rest of the upstream's answer is still written here, and dropped.
    state = 'refused';
    refuse(version, (status, body) => {
      writeHead(status, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      });
      end(body);
    });
    return true;
  };
  const take = (chunk: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    held.push(b);
    heldBytes += b.length;
    if (parser) {
      try {
        const first = parser.push(b).find((ev) => ev.data !== '');
        if (first) decide(first.data);
      } catch {
        release(); // an event too large to be an `initialize` result
      }
    }
    if (state === 'holding' && heldBytes > MAX_HELD_BYTES) release();
  };

  res.writeHead = (status: number, ...rest: unknown[]) => {
    const headers = (
      rest.length > 1 ? rest[1] : typeof rest[0] === 'string' ? undefined : rest[0]
    ) as HeaderArg;
    const ct = headerIn(headers, 'content-type') ?? res.getHeader('content-type');
    const sse = isEventStream(ct);
    if (status !== 200 || (!sse && !/json/i.test(String(ct ?? '')))) {
      restore();
      return writeHead(status, ...rest);
    }
    head = [status, ...rest];
    state = 'holding';
    if (sse) parser = new SseParser({ maxEventBytes: MAX_HELD_BYTES });
    return res;
  };
  res.flushHeaders = () => {};
  res.write = ((chunk: unknown) => {
    if (state === 'idle') {
      restore();
      return write(chunk);
    }
    if (state === 'holding') take(chunk);
    return true;
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown) => {
    if (state === 'holding') {
      take(chunk);
      if (state === 'holding') decide(parser ? '' : Buffer.concat(held).toString('utf8'));
      // decide() moved it on (the compiler cannot see that through the call).
      if ((state as State) === 'released') end();
      return res;
    }
    if (state === 'refused') return res;
    restore();
    return end(chunk);
  }) as ServerResponse['end'];
}
