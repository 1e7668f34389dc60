/**
 * Strict protocol versions, upstream side: the version a session will speak is only known from
 * the server's answer to `initialize`. In strict mode gov holds back such an answer (JSON, or
 * an SSE stream up to its first response: notifications may come before it) and, when the
 * server chose a version not accepted here, answers 502 instead: the client never starts a
 * session in a version the gateway refuses.
 */
import type { ServerResponse } from 'node:http';
import { answersIn, type Answer } from '../mcp/negotiated-version.js';
import { SseParser } from '../mcp/sse.js';
import { isEventStream } from '../transport/http/sse-relay.js';
import { headerIn, type HeaderArg } from './response-headers.js';

/**
 * An answer that holds no response within this many bytes cannot be judged: refused (a real
 * `initialize` result is a few kilobytes; padding must not carry a refused version through).
 */
const MAX_HELD_BYTES = 1024 * 1024;

export interface UpstreamVersionCheck {
  /** null when `version` is accepted; otherwise the refusal (recorded) for the client. */
  refusal(version: string): string | null;
  /** The answer cannot be judged (`why`): the refusal (recorded) for the client. */
  unjudged(why: string): string;
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
  const refuse = (why: string): void => {
    // The rest of the upstream's answer is still written here, and dropped.
    state = 'refused';
    const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: why } });
    writeHead(502, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    });
    end(body);
  };
  /** The answer's first response (`versions`: what the `initialize` results in it name) decides. */
  const decide = (versions: string[]): void => {
    for (const v of versions) {
      const why = check.refusal(v);
      if (why !== null) return refuse(why);
    }
    if (versions.length > 0) check.negotiated(versions.at(-1)!);
    release();
  };
  const versionsIn = (answers: Answer[]) =>
    answers.flatMap((a) => (a.version === undefined ? [] : [a.version]));
  const tooLarge = () =>
    refuse(
      check.unjudged(`the server's answer to initialize holds no response within ${MAX_HELD_BYTES} bytes`),
    );
  const take = (chunk: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    held.push(b);
    heldBytes += b.length;
    if (parser) {
      try {
        for (const ev of parser.push(b)) {
          const answers = ev.data === '' ? [] : answersIn(ev.data);
          if (answers.length > 0) return decide(versionsIn(answers));
        }
      } catch {
        return tooLarge(); // an event too large to be an `initialize` result
      }
    }
    if (heldBytes > MAX_HELD_BYTES) tooLarge();
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
      // An SSE stream that ended without a response has nothing to judge.
      if (state === 'holding')
        decide(parser ? [] : versionsIn(answersIn(Buffer.concat(held).toString('utf8'))));
      // decide() moved it on (the compiler cannot see that through the call).
      if ((state as State) === 'released') end();
      return res;
    }
    if (state === 'refused') return res;
    restore();
    return end(chunk);
  }) as ServerResponse['end'];
}
