import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from '../src/errors.js';
import type { AuditSync } from '../src/audit/sink.js';
import { parseDurationMs } from '../src/policy/duration.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<O extends Options> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
  /** Everything after a literal `--` (the command gov should spawn). */
  rest: string[];
}

/**
 * Parse argv with node:util parseArgs; `--` splits off the child command. Unknown flags
 * become a usage error (exit 2) that names the command's --help.
 */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O): Parsed<O> {
  const dd = argv.indexOf('--');
  const head = joinNegativeValues(dd === -1 ? argv : argv.slice(0, dd), options);
  const rest = dd === -1 ? [] : argv.slice(dd + 1);
  try {
    const { values, positionals } = parseArgs({ args: head, options, allowPositionals: true, strict: true });
    return { values, positionals, rest };
  } catch (err) {
    throw usageError(`${command}: ${parseArgsProblem(err)}`, `see 'gov ${command} --help'`);
  }
}

/** `--max-body -5` → `--max-body=-5`, so the option's own check reports the bad value. */
function joinNegativeValues(args: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const opt = a.startsWith('--') ? options[a.slice(2)] : undefined;
    if (opt?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs' messages are long and oddly quoted; say the problem in a few words. */
function parseArgsProblem(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = String(e.message ?? err);
  const opt = /'(-[^']*)'/.exec(msg)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && opt) return `unknown option '${opt}'`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && opt) {
    if (/argument missing|ambiguous/.test(msg)) return `option '${opt.split(' ')[0]}' needs a value`;
    if (/does not take an argument/.test(msg)) return `option '${opt.split(' ')[0]}' takes no value`;
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return 'unexpected argument';
  return msg.split('\n')[0]!;
}

export function wantsHelp(argv: string[]): boolean {
  const dd = argv.indexOf('--');
  const head = dd === -1 ? argv : argv.slice(0, dd);
  return head.includes('--help') || head.includes('-h');
}

/** A positive duration flag value: 500ms, 30s, 10m, 1h (a bare number is seconds). */
export function parseDuration(text: string, what = 'duration'): number {
  const ms = parseDurationMs(text);
  if (ms === null)
    throw usageError(`invalid ${what} '${text}'`, 'use a positive number with ms, s, m or h, e.g. 30s');
  return ms;
}

/**
 * `gov <command> [--help] <subcommand> [--help]`: the exit code after printing `help` when it
 * was asked for (0) or no subcommand was given (2); null when the subcommand should run.
 */
export function subcommandHelp(sub: string | undefined, rest: string[], help: string): number | null {
  const asked = sub === '--help' || sub === '-h' || sub === 'help';
  if (sub !== undefined && !(asked && rest.length === 0) && !wantsHelp(rest)) return null;
  process.stdout.write(help);
  return sub === undefined ? 2 : 0;
}

/** An optional duration flag: undefined when absent, else as parseDuration. */
export function durationFlag(value: string | undefined, flag: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, flag);
}

/** An optional positive-integer flag (a byte count, a limit): undefined when absent. */
export function positiveIntFlag(value: string | undefined, flag: string, hint: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usageError(`invalid ${flag} '${value}'`, hint);
  return n;
}

/** `--audit-sync answer|always|interval` (see AuditSync in src/audit/sink.ts). */
export function parseAuditSync(value: string | undefined): AuditSync {
  const v = value ?? 'interval';
  if (v !== 'answer' && v !== 'always' && v !== 'interval')
    throw usageError(`invalid --audit-sync '${v}'`, "use 'answer', 'always' or 'interval'");
  return v;
}

export const AUDIT_SYNC_HELP = `  --audit-sync MODE          every decision record is written before its call is forwarded;
                             interval: fsynced within 200 ms (default); answer: fsynced
                             during the call, before its answer; always: before forwarding
  --audit-otlp URL           also ship audit records to this OTLP/HTTP collector (wins over
                             audit.export.otlp in gov.yaml; see docs/audit.md)`;

/** `--audit-otlp URL`: an http(s) collector URL. */
export function parseAuditOtlp(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let ok = false;
  try {
    ok = /^https?:$/.test(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok)
    throw usageError(`invalid --audit-otlp '${value}'`, 'use an http(s) URL, e.g. http://127.0.0.1:4318');
  return value;
}
