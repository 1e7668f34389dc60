import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real OTLP/HTTP logs receiver for tests: decodes each protobuf request with the generated
 * types of the official opentelemetry-proto definitions (shipped by @opentelemetry/otlp-transformer
 * 0.57, installed as the dev dependency `otlp-proto-legacy`), and OTLP/JSON by its JSON mapping.
 */
interface ProtoKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: number | string | { toNumber(): number }; boolValue?: boolean };
}
interface ProtoLogRecord {
  attributes: ProtoKeyValue[];
  body?: { stringValue?: string };
  traceId?: Uint8Array;
  spanId?: Uint8Array;
}
interface ProtoRequest {
  resourceLogs: { scopeLogs: { logRecords: ProtoLogRecord[] }[] }[];
}
const require = createRequire(import.meta.url);
const root = require('otlp-proto-legacy/build/src/generated/root.js') as {
  opentelemetry: {
    proto: {
      collector: { logs: { v1: { ExportLogsServiceRequest: { decode(b: Uint8Array): ProtoRequest } } } };
    };
  };
};

/**
 * OTLP/JSON (the protobuf JSON mapping, with trace and span ids as hex strings, as the spec
 * says) into the shape the protobuf decoder gives.
 */
function fromJson(body: Buffer): ProtoRequest {
  type JsonLog = Omit<ProtoLogRecord, 'traceId' | 'spanId'> & { traceId?: string; spanId?: string };
  const doc = JSON.parse(body.toString('utf8')) as {
    resourceLogs: { scopeLogs: { logRecords: JsonLog[] }[] }[];
  };
  return {
    resourceLogs: doc.resourceLogs.map((rl) => ({
      scopeLogs: rl.scopeLogs.map((sl) => ({
        logRecords: sl.logRecords.map((lr) => ({
          ...lr,
          attributes: lr.attributes.map((kv) => ({
            key: kv.key,
            value: typeof kv.value.intValue === 'string' ? { intValue: Number(kv.value.intValue) } : kv.value,
          })),
          traceId: Buffer.from(lr.traceId ?? '', 'hex'),
          spanId: Buffer.from(lr.spanId ?? '', 'hex'),
        })),
      })),
    })),
  };
}

export interface ReceivedLog {
  attributes: Record<string, string | number | boolean>;
  body: string;
  traceId: string;
  spanId: string;
  headers: IncomingMessage['headers'];
}

export interface OtlpReceiver {
  url: string;
  logs: ReceivedLog[];
  /** Raw request bodies, to grep for secrets. */
  raw: Buffer[];
  /** 'ok': answer 200; 'hang': read the request and never answer. */
  mode: 'ok' | 'hang';
  /** Resolves once `n` logs have arrived. */
  waitFor(n: number, ms?: number): Promise<void>;
  requests: number;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const hanging: ServerResponse[] = [];
  const waiters: (() => void)[] = [];
  const rx: OtlpReceiver = {
    url: '',
    logs: [],
    raw: [],
    mode: 'ok',
    requests: 0,
    waitFor(n, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${rx.logs.length} of ${n} logs arrived`)), ms);
        const check = (): void => {
          if (rx.logs.length < n) return void waiters.push(check);
          clearTimeout(timer);
          resolve();
        };
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      rx.requests += 1;
      if (rx.mode === 'hang') return void hanging.push(res);
      const body = Buffer.concat(chunks);
      rx.raw.push(body);
      const json = String(req.headers['content-type']).includes('json');
      const decoded = json
        ? fromJson(body)
        : root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest.decode(body);
      for (const rl of decoded.resourceLogs)
        for (const sl of rl.scopeLogs)
          for (const lr of sl.logRecords) {
            const attributes: ReceivedLog['attributes'] = {};
            for (const kv of lr.attributes) {
              const v = kv.value;
              const int = v.intValue;
              attributes[kv.key] =
                v.stringValue ??
                v.boolValue ??
                (typeof int === 'object' && int ? int.toNumber() : (int as number));
            }
            rx.logs.push({
              attributes,
              body: lr.body?.stringValue ?? '',
              traceId: Buffer.from(lr.traceId ?? []).toString('hex'),
              spanId: Buffer.from(lr.spanId ?? []).toString('hex'),
              headers: req.headers,
            });
          }
      if (json) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rx.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return rx;
}
