/**
 * For `--experiments` only: gov's proxy + HTTP handler + pipeline assembled in one process the
 * way `gov run` assembles them, with two switches the CLI does not have, to measure suggested
 * fixes before anyone changes src/: `durable` (fsync per audit group; gov's default is true)
 * and `sharedTls` (one upstream SecureContext built once, instead of undici building one from
 * ~140 PEM roots per new upstream connection). Prints {url, caFile}; exits when stdin closes.
 */
import { createSecureContext, rootCertificates } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent } from 'undici';
import { homePaths } from '../../src/home.js';
import { loadOrCreateCa } from '../../src/proxy/ca.js';
import { LeafCertCache } from '../../src/proxy/leaf-cert-cache.js';
import { originOf, Upstream, type UpstreamRequest, type UpstreamResponse } from '../../src/proxy/upstream.js';
import { startProxy } from '../../src/proxy/server.js';
import { createHttpHandler } from '../../src/pipeline/http-handler.js';
import { loadPolicyFromText } from '../../src/policy/load.js';
import { ConstraintTracker } from '../../src/policy/constraints.js';
import { openAuditSink } from '../../src/audit/sink.js';
import { digestArgs } from '../../src/audit/canonical.js';
import { newRunId } from '../../src/audit/run-id.js';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import { createRedactor } from '../../src/safety/redact.js';
import { Pipeline } from '../../src/pipeline.js';

interface Config {
  home: string;
  policyText: string;
  upstreamCa: string;
  durable: boolean;
  sharedTls: boolean;
}

/** Upstream with one SecureContext for every connection (the suggested fix for src/proxy/upstream.ts). */
class SharedContextUpstream {
  private readonly agent: Agent;
  constructor(caFile: string) {
    const secureContext = createSecureContext({ ca: [...rootCertificates, readFileSync(caFile, 'utf8')] });
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { secureContext, rejectUnauthorized: true, timeout: 10_000 },
    });
  }
  async request(r: UpstreamRequest): Promise<UpstreamResponse> {
    const res = await this.agent.request({
      origin: originOf(r.target),
      method: r.method as 'GET',
      path: r.path,
      headers: r.headers,
      body: r.body ?? null,
      signal: r.signal,
    });
    return { status: res.statusCode, headers: res.headers as UpstreamResponse['headers'], body: res.body };
  }
  async close(): Promise<void> {
    await this.agent.destroy().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
  const log = { debug: () => {}, info: () => {}, warn: (m: string) => process.stderr.write(m + '\n') };
  const paths = homePaths(cfg.home);
  const policy = loadPolicyFromText(cfg.policyText, 'bench-policy.yaml');
  const run = newRunId();
  const audit = await openAuditSink({ dir: join(cfg.home, 'audit'), run, durable: cfg.durable });
  const pipeline = new Pipeline({
    run,
    policy,
    constraints: new ConstraintTracker(),
    approvals: new ApprovalBroker(),
    audit,
    redactor: createRedactor({
      vaultValues: new Map(),
      vault: policy.redact.vault,
      secrets: policy.redact.secrets,
    }),
    credentials: undefined,
    digestArgs: (a) => digestArgs(a),
    approvalTimeoutMs: undefined,
    onEvent: () => {},
    log,
  });
  const ca = loadOrCreateCa(paths);
  const leafCerts = new LeafCertCache(ca);
  const upstream = cfg.sharedTls
    ? (new SharedContextUpstream(cfg.upstreamCa) as unknown as Upstream)
    : new Upstream({ extraCaFiles: [cfg.upstreamCa] });
  const handler = createHttpHandler({ pipeline, upstream });
  const token = randomBytes(24).toString('hex');
  const proxy = await startProxy({ token, leafCerts, handler, upstreamCa: [cfg.upstreamCa], log });
  await leafCerts.ready();
  const caFile = join(cfg.home, 'gov-ca.pem');
  writeFileSync(caFile, ca.certPem);
  process.stdout.write(JSON.stringify({ url: proxy.url(token), caFile }) + '\n');
  process.stdin.resume();
  const stop = (): void => {
    void Promise.all([proxy.close(), upstream.close(), audit.close()]).finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench experiment proxy: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
