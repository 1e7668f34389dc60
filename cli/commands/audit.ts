import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseCommandArgs, wantsHelp } from '../args.js';
import { usageError } from '../../src/errors.js';
import { homePaths } from '../../src/home.js';
import { compileFilter } from '../../src/audit/filter.js';
import { columnWidths, formatHeader, formatRow, formatTable, useColor } from '../../src/audit/format.js';
import { followRecords, tailRecords, type ReadRecord } from '../../src/audit/reader.js';
import { verifyAudit, type AuditProblem } from '../../src/audit/verify.js';
import { openAuditSigner, parsePublicKey, readAuditPublicKey } from '../../src/audit/signing-key.js';
import { describeIoError } from '../../src/audit/io-error.js';

const USAGE = `usage: gov audit <tail|verify|key|export> [options]

  tail     show the latest audit records (and follow new ones with -f)
  verify   check every run's hash chain, signatures and seal, and the chain of runs
  key      print the audit public key (one line, base64)
  export   re-ship existing records to an OpenTelemetry collector (OTLP)

Run 'gov audit <subcommand> --help' for options.
`;

const TAIL_USAGE = `usage: gov audit tail [-n N] [-f] [--json] [--decision D] [--tool GLOB] [--server NAME] [--run ID] [--shadow]

Show the last N audit records of all runs, oldest first.

  -n, --lines N      how many records (default 20)
  -f, --follow       keep printing new records from every run (including runs that start
                     later) until interrupted
      --json         one record per line, exactly as stored
      --decision D   only records with this decision: allow, deny or approve
      --tool GLOB    only calls whose tool (or resource URI) matches; * any text, ? one char
      --server NAME  only calls to this server (registry name or URL)
      --run ID       only this run (full id, prefix, or the short id shown in the table)
      --shadow       only calls shadow mode let through that the policy would have denied
                     or held (the DECISION column shows e.g. allow>deny)
`;

const VERIFY_USAGE = `usage: gov audit verify [--key FILE|KEY]

Check every record's hash and chain link, every signature (run_start, checkpoints, seals),
every run's end and the chain of runs under $GOV_HOME/audit. Exit 0 printing
"ok: <records> records in <runs> runs" (warnings and runs in progress go to stderr); exit 1
naming the first bad file:line and why. See docs/audit.md for what this proves.

      --key FILE|KEY  the audit public key you keep elsewhere (what 'gov audit key' printed,
                      or a file holding it); default $GOV_HOME/audit/key.pub, which anyone
                      who can write $GOV_HOME can replace
`;

const KEY_USAGE = `usage: gov audit key

Print the installation's audit public key: one line, the 32 raw Ed25519 key bytes in
base64. Keep a copy outside this machine and pass it to 'gov audit verify --key'. The key
pair is created by the first governed run (or by this command).
`;

export default async function audit(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    (sub === undefined ? process.stderr : process.stdout).write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'tail') return tail(rest);
  if (sub === 'verify') return verify(rest);
  if (sub === 'key') return key(rest);
  if (sub === 'export') return (await import('./audit-export.js')).default(rest);
  throw usageError(`audit: unknown subcommand '${sub}'`, "use 'gov audit tail', 'verify', 'key' or 'export'");
}

async function tail(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(TAIL_USAGE);
    return 0;
  }
  const { values, positionals } = parseCommandArgs('audit tail', argv, {
    lines: { type: 'string', short: 'n' },
    follow: { type: 'boolean', short: 'f' },
    json: { type: 'boolean' },
    decision: { type: 'string' },
    tool: { type: 'string' },
    server: { type: 'string' },
    run: { type: 'string' },
    shadow: { type: 'boolean' },
  });
  if (positionals.length > 0)
    throw usageError(`audit tail: unexpected argument '${positionals[0]}'`, "see 'gov audit tail --help'");
  const n = parseCount(values.lines);
  const filter = compileFilter({
    decision: values.decision,
    tool: values.tool,
    server: values.server,
    run: values.run,
    shadow: values.shadow === true,
  });
  const dir = homePaths().audit;
  const json = values.json === true;
  const follow = values.follow === true;
  const color = !json && useColor(process.stdout);
  const widths = follow ? columnWidths('follow') : undefined;

  const { records, offsets } = await tailRecords({ dir, n, filter });
  const print = (r: ReadRecord): void => {
    process.stdout.write(json ? `${r.raw}\n` : `${formatRow(r.record, { color, widths: widths ?? [] })}\n`);
  };
  if (json) records.forEach(print);
  else if (widths) {
    process.stdout.write(`${formatHeader({ color, widths })}\n`);
    records.forEach(print);
  } else {
    process.stdout.write(
      formatTable(
        records.map((r) => r.record),
        color,
      ),
    );
  }
  if (!follow) return 0;

  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // A closed pipe (`gov audit tail -f | head`) ends the follow quietly.
  const onStdoutError = (): void => ac.abort();
  process.stdout.on('error', onStdoutError);
  try {
    await followRecords({ dir, filter, signal: ac.signal, offsets, onRecord: print });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', onStdoutError);
  }
  return 0;
}

function parseCount(text: string | undefined): number {
  if (text === undefined) return 20;
  if (!/^\d+$/.test(text))
    throw usageError(`audit tail: -n must be a whole number (got '${text}')`, 'e.g. -n 50');
  return Number(text);
}

function where(p: AuditProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}` : p.file;
}

async function verify(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(VERIFY_USAGE);
    return 0;
  }
  const { values, positionals } = parseCommandArgs('audit verify', argv, { key: { type: 'string' } });
  if (positionals.length > 0)
    throw usageError(
      `audit verify: unexpected argument '${positionals[0]}'`,
      "see 'gov audit verify --help'",
    );
  const res = await verifyAudit(homePaths().audit, {
    ...(values.key !== undefined ? { key: keyArgument(values.key) } : {}),
  });
  for (const p of res.problems.filter((x) => x.kind === 'warning')) {
    process.stderr.write(`gov: warning: ${where(p)}: ${p.message}\n`);
  }
  for (const run of res.inProgress) {
    process.stderr.write(
      `gov: run ${run} is in progress (its gov answered with a signed chain head; records after its last checkpoint are not signed yet)\n`,
    );
  }
  const errors = res.problems.filter((x) => x.kind === 'error');
  const first = errors[0];
  if (first === undefined) {
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    process.stdout.write(`ok: ${plural(res.records, 'record')} in ${plural(res.runs, 'run')}\n`);
    return 0;
  }
  for (const p of errors) process.stdout.write(`${where(p)}: ${p.message}\n`);
  process.stderr.write(
    `gov: audit verification failed at ${where(first)}: ${first.message} — the audit trail changed after it was written (${errors.length} problem${errors.length === 1 ? '' : 's'})\n`,
  );
  return 1;
}

/** `--key` is the base64 key itself, or a file holding it. */
function keyArgument(text: string): KeyObject {
  if (/^[A-Za-z0-9+/]{43}=$/.test(text.trim())) return parsePublicKey(text);
  let content: string;
  try {
    content = readFileSync(text, 'utf8');
  } catch (err) {
    throw usageError(
      `audit verify: --key '${text}' is neither a base64 public key nor a readable file (${describeIoError(err)})`,
      "pass the line 'gov audit key' printed, or a file holding it",
    );
  }
  return parsePublicKey(content);
}

async function key(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(KEY_USAGE);
    return 0;
  }
  const { positionals } = parseCommandArgs('audit key', argv, {});
  if (positionals.length > 0)
    throw usageError(`audit key: unexpected argument '${positionals[0]}'`, "see 'gov audit key --help'");
  const home = homePaths().home;
  const existing = readAuditPublicKey(home);
  if (existing !== null) {
    process.stdout.write(`${existing}\n`);
    return 0;
  }
  const signer = await openAuditSigner({ home });
  process.stderr.write(`gov: created the audit key; its private half is in the ${signer.where}\n`);
  process.stdout.write(`${signer.publicKey}\n`);
  return 0;
}
