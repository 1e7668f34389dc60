import { GovError, usageError } from '../../src/errors.js';
import { homePaths } from '../../src/home.js';
import { diffDefinitions, formatDiff } from '../../src/safety/definition-diff.js';
import { acceptChanged, readPins, removePins, updatePins } from '../../src/safety/pins-store.js';
import { shortFingerprint } from '../../src/safety/tool-definition.js';
import { parseCommandArgs, subcommandHelp } from '../args.js';
import { jsonForDisplay, sanitizeInline } from '../../src/terminal-text.js';

const HELP = `usage: gov pins list [--json]
       gov pins diff SERVER [TOOL]
       gov pins accept SERVER [TOOL]
       gov pins rm SERVER [TOOL]

Pinned tool definitions ($GOV_HOME/pins.json). gov pins a server's tools the first time it
sees them; a tool whose definition changes later (or a new tool) is governed by
pins.on_change in gov.yaml until you accept it.

commands:
  list     every pinned tool and every changed or new one awaiting review
  diff     what changed: the pinned definition against the one the server now shows
  accept   pin the changed definitions of SERVER (one TOOL, or all of them)
  rm       forget the pins of SERVER (one TOOL, or all); the next tools/list pins again

options:
  --json       list: a JSON array of {server, url, tool, status, fingerprint, since}
  -h, --help   show this help
`;

export default function pins(argv: string[]): number {
  const [sub, ...rest] = argv;
  const help = subcommandHelp(sub, rest, HELP);
  if (help !== null) return help;
  const path = homePaths().pins;
  switch (sub) {
    case 'list':
    case 'ls':
      return listCommand(path, rest);
    case 'diff':
      return diffCommand(path, rest);
    case 'accept':
      return acceptCommand(path, rest);
    case 'rm':
    case 'remove':
      return rmCommand(path, rest);
    default:
      throw usageError(`pins: unknown subcommand '${sub}'`, "see 'gov pins --help'");
  }
}

function target(command: string, argv: string[]): { server: string; tool: string | undefined } {
  const { positionals } = parseCommandArgs(`pins ${command}`, argv, {});
  if (positionals.length < 1 || positionals.length > 2)
    throw usageError(`pins ${command}: expected SERVER [TOOL]`, "see 'gov pins --help'");
  return { server: positionals[0]!, tool: positionals[1] };
}

function listCommand(path: string, argv: string[]): number {
  const { values, positionals } = parseCommandArgs('pins list', argv, { json: { type: 'boolean' } });
  if (positionals.length) throw usageError('pins list: takes no arguments', "see 'gov pins --help'");
  const rows: Array<{
    server: string;
    url: string;
    tool: string;
    status: string;
    fingerprint: string;
    since: string;
  }> = [];
  for (const [server, s] of Object.entries(readPins(path).servers)) {
    for (const [tool, p] of Object.entries(s.tools))
      rows.push({
        server,
        url: s.url,
        tool,
        status: 'pinned',
        fingerprint: p.fingerprint,
        since: p.pinned_at,
      });
    for (const [tool, c] of Object.entries(s.changed))
      rows.push({
        server,
        url: s.url,
        tool,
        status: s.tools[tool] ? 'changed' : 'new',
        fingerprint: c.fingerprint,
        since: c.seen_at,
      });
  }
  if (values.json) {
    process.stdout.write(jsonForDisplay(rows, 2) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write('no pinned tools\n');
    return 0;
  }
  // Server keys and tool names come from the servers: shown inert, invisible characters escaped.
  const shown = rows.map((r) => ({
    ...r,
    server: sanitizeInline(r.server, 80),
    tool: sanitizeInline(r.tool, 80),
  }));
  const w = (k: 'server' | 'tool') => Math.max(k.length, ...shown.map((r) => r[k].length));
  const [ws, wt] = [w('server'), w('tool')];
  process.stdout.write(`${'SERVER'.padEnd(ws)}  ${'TOOL'.padEnd(wt)}  STATUS   FINGERPRINT          SINCE\n`);
  for (const r of shown)
    process.stdout.write(
      `${r.server.padEnd(ws)}  ${r.tool.padEnd(wt)}  ${r.status.padEnd(7)}  ${shortFingerprint(r.fingerprint)}  ${r.since}\n`,
    );
  return 0;
}

function unknownServer(server: string): GovError {
  return new GovError('not-found', `no pins for server '${server}'`, { hint: "see 'gov pins list'" });
}

function diffCommand(path: string, argv: string[]): number {
  const { server, tool } = target('diff', argv);
  const s = readPins(path).servers[server];
  if (!s) throw unknownServer(server);
  const names = tool === undefined ? Object.keys(s.changed) : [tool];
  if (tool !== undefined && !s.changed[tool] && !s.tools[tool])
    throw new GovError('not-found', `no tool '${tool}' pinned or seen on server '${server}'`, {
      hint: "see 'gov pins list'",
    });
  if (names.every((n) => !s.changed[n])) {
    process.stdout.write(
      `no changes on ${sanitizeInline(server, 80)}${tool ? ` ${sanitizeInline(tool, 80)}` : ''}\n`,
    );
    return 0;
  }
  for (const n of names) {
    const c = s.changed[n];
    if (!c) continue;
    const p = s.tools[n];
    process.stdout.write(
      `${sanitizeInline(server, 80)} ${sanitizeInline(n, 80)}: ${p ? `pinned ${shortFingerprint(p.fingerprint)}` : 'not pinned (new tool)'} → now ${shortFingerprint(c.fingerprint)}\n`,
    );
    process.stdout.write(formatDiff(diffDefinitions(p?.definition, c.definition)) + '\n\n');
  }
  return 0;
}

function acceptCommand(path: string, argv: string[]): number {
  const { server, tool } = target('accept', argv);
  let accepted: string[] = [];
  updatePins(path, (f) => {
    accepted = acceptChanged(f, server, tool, new Date().toISOString());
    return accepted.length > 0;
  });
  if (accepted.length === 0)
    throw new GovError(
      'not-found',
      `nothing to accept on server '${server}'${tool ? ` tool '${tool}'` : ''}`,
      {
        hint: "see 'gov pins list'",
      },
    );
  process.stdout.write(
    `accepted ${accepted.length} definition(s) on ${sanitizeInline(server, 80)}: ${sanitizeInline(accepted.join(', '), 2000)}\n`,
  );
  return 0;
}

function rmCommand(path: string, argv: string[]): number {
  const { server, tool } = target('rm', argv);
  let removed: string[] = [];
  updatePins(path, (f) => {
    removed = removePins(f, server, tool);
    return removed.length > 0;
  });
  if (removed.length === 0) throw unknownServer(server);
  process.stdout.write(
    `removed ${removed.length} pin(s) on ${sanitizeInline(server, 80)}: ${sanitizeInline(removed.join(', '), 2000)}\n`,
  );
  return 0;
}
