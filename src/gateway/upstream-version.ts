/**
 * Strict protocol versions, upstream side: the version a session will speak is only known from
 * the server's answer to `initialize`. In strict mode gov holds back such an answer (JSON, or
 * an SSE stream up to its first message) and, when the server chose a version not accepted
 * here, answers 502 instead: the client never starts a session in a version the gateway refuses.
 */
import type { ServerResponse } from 'node:http';
import { answersIn } from '../mcp/negotiated-version.js';
import { SseParser } from '../mcp/sse.js';
import { isEventStream } from '../transport/http/sse-relay.js';
import { headerIn, type HeaderArg } from './response-headers.js';

/** An answer larger than this is no `initialize` result: it is released unchecked. */
const MAX_HELD_BYTES = 1024 * 1024;

export interface UpstreamVersionCheck {
  /** null when `version` is accepted; otherwise the refusal (recorded) for the client. */
  refusal(version: string): string | null;
  /** The answer names `version`, accepted: called before its headers go out. */
  negotiated(version: string): void;
}

/**
 * Hold back `res`'s answer until its first message is seen: when an `initialize` result in it
 * names a version not accepted, the client gets 502 and a JSON-RPC error instead (no session
 * id). Everything else goes out unchanged.
 */
export function checkUpstreamVersion(res: ServerResponse, check: UpstreamVersionCheck): void {
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
  /** The first message decides. */
  const decide = (text: string): void => {
    const versions = answersIn(text).flatMap((a) => (a.version === undefined ? [] : [a.version]));
    for (const v of versions) {
      const why = check.refusal(v);
      if (why === null) continue;
      // The rest of the upstream's answer is still written here, and dropped.
      state = 'refused';
      const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: why } });
      writeHead(502, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      });
      end(body);
      return;
    }
    if (versions.length > 0) check.negotiated(versions.at(-1)!);
    release();
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
