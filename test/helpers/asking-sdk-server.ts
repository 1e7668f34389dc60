/**
 * An official SDK 1.32 server that asks its clients things, Streamable HTTP (`/mcp`) and
 * 2024-11-05 HTTP+SSE (`/sse`, posts to `/messages`), and logs every message it receives, by
 * session (test/e2e/http-forged-answers.test.ts).
 */
import type { ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  type JSONRPCMessage,
  type MessageExtraInfo,
} from '@modelcontextprotocol/sdk/types.js';
import type { TestPki } from './test-ca.js';
import type { TestServer } from './https-server.js';
import { startSdkBothTransports } from './sdk-both-transports.js';

type Json = Record<string, unknown>;

export interface Received {
  session: string;
  message: Json;
}

export interface AskingServer extends TestServer {
  received: Received[];
  /** Resolves once the session's standalone GET stream is open at the server. */
  getStream(session: string): Promise<void>;
  /** How the `roots_later` request of a session was answered. */
  roots: Map<string, Promise<string>>;
}

/**
 * The SDK server: `sample` asks the client to sample (denied), `elicit` to fill a form
 * (relayed, in the call's stream), `roots_later` for the client's roots (relayed, on the
 * session's standalone GET stream: a request outside any call).
 */
export async function startAskingServer(pki: TestPki): Promise<AskingServer> {
  const received: Received[] = [];
  const roots = new Map<string, Promise<string>>();
  const streams = new Map<string, { opened: Promise<void>; open: () => void }>();
  const stream = (session: string) => {
    let s = streams.get(session);
    if (!s) {
      let open!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      streams.set(session, (s = { opened, open }));
    }
    return s;
  };
  const build = () => {
    const s = new McpServer({ name: 'asking-server', version: '1.0.0' });
    const timeout = { timeout: 20_000 };
    s.registerTool('sample', {}, async (extra) => {
      const messages = [{ role: 'user' as const, content: { type: 'text' as const, text: 'hi' } }];
      const text = await extra
        .sendRequest(
          { method: 'sampling/createMessage', params: { messages, maxTokens: 9 } },
          CreateMessageResultSchema,
          timeout,
        )
        .then((r) => `sampled: ${JSON.stringify(r.content)}`)
        .catch((err: unknown) => `error ${(err as { code?: number }).code}: ${(err as Error).message}`);
      return { content: [{ type: 'text', text }] };
    });
    s.registerTool('elicit', {}, async (extra) => {
      const schema = { type: 'object', properties: { ok: { type: 'boolean' } } } as const;
      const r = await extra.sendRequest(
        { method: 'elicitation/create', params: { message: 'Go on?', requestedSchema: schema } },
        ElicitResultSchema,
        timeout,
      );
      return { content: [{ type: 'text', text: `elicited: ${r.action}` }] };
    });
    s.registerTool('roots_later', {}, (extra) => {
      // No related request: the SDK sends it on the session's standalone GET stream.
      const answered = s.server.listRoots(undefined, timeout).then(
        (r) => `roots: ${JSON.stringify(r.roots)}`,
        (err: unknown) => `error ${(err as { code?: number }).code}: ${(err as Error).message}`,
      );
      roots.set(extra.sessionId ?? '', answered);
      return { content: [{ type: 'text', text: 'asked' }] };
    });
    return s;
  };
  /** Connect a fresh server to `t` and log every message it receives, under its session. */
  const serve = async (t: Transport) => {
    await build().connect(t);
    const deliver = t.onmessage!;
    t.onmessage = ((message: JSONRPCMessage, extra?: MessageExtraInfo) => {
      received.push({ session: t.sessionId ?? '', message: message as Json });
      deliver(message, extra);
    }) as Transport['onmessage'];
  };
  const server = await startSdkBothTransports(pki, serve, {
    // The SDK has taken the stream on (it sends there) by the time its headers go out.
    onSessionGet: (sid, res) => {
      const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
      res.writeHead = ((...a: unknown[]) => {
        const r = writeHead(...a);
        if (res.statusCode === 200) stream(sid).open();
        return r;
      }) as ServerResponse['writeHead'];
    },
  });
  return {
    ...server,
    received,
    roots,
    getStream: (session) => stream(session).opened,
  };
}
