import { parseAuditOtlp, parseCommandArgs, parseDuration, wantsHelp } from '../args.js';
import { usageError } from '../../src/errors.js';
import { homePaths } from '../../src/home.js';
import { AuditOtlpExporter, logsUrl, type OtlpTarget } from '../../src/audit/otlp-export.js';
import { otlpSecretNames, resolveOtlpTarget } from '../../src/audit/otlp-config.js';
import { findPolicyPath, loadPolicy } from '../../src/policy/load.js';
import { promptHidden } from '../../vault/tty-prompt.js';
import { listRunFiles, readRunFile } from '../../src/audit/reader.js';
import type { AuditRecord } from '../../src/types.js';

const USAGE = `usage: gov audit export [--otlp URL] [--since DURATION] [--policy FILE]

Re-ship existing audit records to an OpenTelemetry collector (OTLP over HTTP/protobuf),
one LogRecord per record, oldest run first: a backfill after an outage, or of runs made
before export was configured. Exit 0 when every record was shipped, 1 otherwise.

      --otlp URL          the collector (e.g. http://127.0.0.1:4318; /v1/logs is added);
                          default: audit.export.otlp.endpoint of the policy
      --since DURATION    only records of the last DURATION (e.g. 24h, 30m)
      --policy FILE       the policy whose audit.export.otlp headers (vault secrets included)
                          are sent to its endpoint (default ./gov.yaml, then $GOV_HOME/policy.yaml)
`;

/** How long the backfill keeps retrying an unreachable collector before giving up. */
const GIVE_UP_MS = 60_000;

export default async function auditExport(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { values, positionals } = parseCommandArgs('audit export', argv, {
    otlp: { type: 'string' },
    since: { type: 'string' },
    policy: { type: 'string' },
  });
  if (positionals.length > 0)
    throw usageError(
      `audit export: unexpected argument '${positionals[0]}'`,
      "see 'gov audit export --help'",
    );
  const target = await exportTarget(parseAuditOtlp(values.otlp), values.policy);
  const { endpoint } = target;
  const since = values.since !== undefined ? Date.now() - parseDuration(values.since, '--since') : undefined;

  const records: AuditRecord[] = [];
  for (const f of await listRunFiles(homePaths().audit)) {
    for (const line of (await readRunFile(f.path)).lines) {
      if (line.kind !== 'record') continue;
      const r = line.rec.record;
      if (since === undefined || Date.parse(r.ts) >= since) records.push(r);
    }
  }
  const exporter = new AuditOtlpExporter(target, {
    maxQueue: Math.max(records.length, 1),
    delayMs: 0,
    onFailure: (m) => process.stderr.write(`gov: warning: ${m}\n`),
  });
  for (const r of records) exporter.push(r);
  await exporter.flush(GIVE_UP_MS);
  await exporter.shutdown();
  const c = exporter.counts();
  if (c.pending > 0) {
    process.stderr.write(
      `gov: audit export shipped ${c.shipped} of ${records.length} records — the collector at ${endpoint} did not take the rest; run the export again\n`,
    );
    return 1;
  }
  process.stdout.write(`shipped ${c.shipped} records\n`);
  return 0;
}

/**
 * The collector and its headers: the policy's `audit.export.otlp` headers (vault secrets
 * resolved) go only to the endpoint they were configured for, never to another --otlp URL.
 */
async function exportTarget(url: string | undefined, policyFlag: string | undefined): Promise<OtlpTarget> {
  const home = homePaths().home;
  const file = findPolicyPath({
    ...(policyFlag !== undefined ? { explicit: policyFlag } : {}),
    cwd: process.cwd(),
    home,
  });
  const configured = file === null ? undefined : loadPolicy(file).auditOtlp;
  if (url === undefined && configured === undefined)
    throw usageError(
      'audit export: --otlp URL is required',
      'e.g. --otlp http://127.0.0.1:4318, or set audit.export.otlp in gov.yaml',
    );
  if (configured === undefined || (url !== undefined && logsUrl(url) !== logsUrl(configured.endpoint)))
    return { endpoint: url!, headers: {} };
  let secrets = new Map<string, string>();
  if (otlpSecretNames(configured).length > 0) {
    const { openVault } = await import('../../vault/store.js');
    const vault = await openVault({
      home,
      ...(process.stdin.isTTY
        ? { prompt: () => promptHidden('gov: vault passphrase: ', process.stdin) }
        : {}),
    });
    secrets = vault.values();
  }
  return resolveOtlpTarget(configured, secrets);
}
