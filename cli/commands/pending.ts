import { LISTED_ARGS_BYTES, formatBytes } from '../../src/approvals/args-summary.js';
import { pendingEntry } from '../../src/approvals/pending-entry.js';
import { getPending, listPending, unreachableError, type PendingCall } from '../../src/approvals/client.js';
import { GovError, usageError } from '../../src/errors.js';
import { govHome } from '../../src/home.js';
import { parseCommandArgs, wantsHelp } from '../args.js';
import { jsonForDisplay, sanitizeInline } from '../../src/terminal-text.js';
import { endedNote } from '../../src/approvals/ended-calls.js';

const HELP = `usage: gov pending [--json] [--full ID]

List the calls held for approval in every live run.

options:
  --json      print a JSON array of {id, run, server, tool, method, args, rule, reason, held_since,
              expires_at} (expires_at: when the hold times out and the call is denied)
  --full ID   print one held call as JSON with its arguments in full
  -h, --help  show this help

Arguments over ${formatBytes(LISTED_ARGS_BYTES)} are summarised in listings: cut parts read
'…(truncated, SIZE)' and the call carries "args_truncated": true and "args_bytes" (the full
size); '--full ID' shows them whole. In JSON output, characters a terminal would hide or act
on (bidi controls, zero-width and other format characters) are written as \\uXXXX escapes. A run that does not answer is named on stderr, exit 1.
LEFT is the time until the call is denied for want of an answer. Calls that ended in the last
10 minutes without an answer (the client stopped waiting, or the approval timed out) are
listed after the held ones, with why.
Approve or deny one with 'gov approve ID' / 'gov deny ID', or interactively with 'gov approvals'.
`;

/** The documented `pending --json` shape (shared with the notification hooks). */
export const pendingJson = pendingEntry;

function seconds(s: number): string {
  if (Number.isNaN(s)) return '?';
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

function heldFor(since: string, now: number): string {
  return seconds(Math.max(0, Math.floor((now - Date.parse(since)) / 1000)));
}

function timeLeft(expiresAt: string | undefined, now: number): string {
  if (expiresAt === undefined) return 'never';
  return seconds(Math.max(0, Math.ceil((Date.parse(expiresAt) - now) / 1000)));
}

export function pendingTable(calls: PendingCall[], now = Date.now()): string {
  const header = ['ID', 'RUN', 'SERVER', 'TOOL', 'RULE', 'HELD', 'LEFT', 'REASON'];
  const rows = calls.map((c) => [
    sanitizeInline(c.id, 20),
    sanitizeInline(c.run, 24),
    sanitizeInline(c.server, 30),
    sanitizeInline(c.tool, 40),
    sanitizeInline(c.rule, 30),
    heldFor(c.held_since, now),
    timeLeft(c.expires_at, now),
    sanitizeInline(c.reason, 60),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export default async function pending(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return 0;
  }
  const { values, positionals } = parseCommandArgs('pending', argv, {
    json: { type: 'boolean' },
    full: { type: 'string' },
  });
  if (positionals.length > 0)
    throw usageError(`pending: unexpected argument '${positionals[0]}'`, "see 'gov pending --help'");
  if (values.full !== undefined) {
    const call = await getPending(govHome(), values.full);
    if (!call) {
      throw new GovError(
        'not-found',
        `no held call '${sanitizeInline(values.full, 64)}' (unknown or no longer pending)`,
        {
          hint: "run 'gov pending' to list held calls",
        },
      );
    }
    process.stdout.write(jsonForDisplay(pendingJson(call), 2) + '\n');
    return 0;
  }
  const { calls, ended, unreachable } = await listPending(govHome());
  if (values.json) {
    process.stdout.write(jsonForDisplay(calls.map(pendingJson), 2) + '\n');
  } else if (calls.length === 0) {
    process.stdout.write(
      unreachable.length ? 'No held calls in the runs that answered\n' : 'No held calls\n',
    );
  } else {
    process.stdout.write(pendingTable(calls));
  }
  if (!values.json && ended.length > 0) {
    process.stdout.write('\nEnded without an answer:\n');
    for (const e of ended)
      process.stdout.write(`  ${sanitizeInline(`${endedNote(e)} (run ${e.run})`, 400)}\n`);
  }
  // What the runs that answered hold is printed first; a run that did not answer fails the command.
  if (unreachable.length) throw unreachableError(unreachable);
  return 0;
}
