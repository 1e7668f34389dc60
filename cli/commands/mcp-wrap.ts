import { basename, extname } from 'node:path';
import {
  AUDIT_SYNC_HELP,
  parseAuditOtlp,
  parseAuditSync,
  parseCommandArgs,
  durationFlag,
  positiveIntFlag,
  wantsHelp,
} from '../args.js';
import { usageError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { openSession } from '../../src/session.js';
import { runStdioWrap } from '../../src/transport/stdio/wrap.js';
import { serverEnv } from '../../src/transport/stdio/server-process.js';
import { batchedLines, callLine, heldLine } from '../call-lines.js';

const MCP_HELP = `usage: gov mcp <subcommand>

subcommands:
  wrap [options] -- <server command> [args...]   govern a stdio MCP server

Run 'gov mcp wrap --help' for its options.
`;

const WRAP_HELP = `usage: gov mcp wrap [options] -- <server command> [args...]

Govern a stdio MCP server: gov spawns it and relays newline-delimited JSON-RPC between
its own stdin/stdout and the server's, through policy, approvals, redaction and audit.
Use it as the "command" of any MCP client's server config. stdout carries protocol
messages only; diagnostics and the server's stderr go to stderr. Held calls wait for
'gov approvals' or 'gov approve ID'.

options:
  --policy FILE              policy file (default ./gov.yaml, then $GOV_HOME/policy.yaml, then built-in)
  --name NAME                the server's name for policy and audit (default: the command's base name)
  --approval-timeout DUR     deny a held call after DUR (default 120s; a rule's timeout wins)
  --shadow                   shadow mode: decide and record (shadow_decision), but forward
                             every call as if allowed; never hold (see docs/policy.md)
  --max-line BYTES           largest client message accepted (default 4194304)
${AUDIT_SYNC_HELP}
  --quiet                    print nothing but warnings and errors
  -h, --help                 this help
`;

/** The server's default name: the command's base name without its extension (`server.py` → `server`). */
export function defaultServerName(command: string): string {
  const base = basename(command.replace(/\\/g, '/'));
  const ext = extname(base);
  const stem = ext && ext !== base ? base.slice(0, -ext.length) : base;
  return stem.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'server';
}

export default async function mcp(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(MCP_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'wrap') throw usageError(`mcp: unknown subcommand '${sub}'`, "see 'gov mcp --help'");
  return wrap(rest);
}

async function wrap(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(WRAP_HELP);
    return 0;
  }
  const { values, positionals, rest } = parseCommandArgs('mcp wrap', argv, {
    policy: { type: 'string' },
    name: { type: 'string' },
    'approval-timeout': { type: 'string' },
    shadow: { type: 'boolean' },
    'audit-sync': { type: 'string' },
    'audit-otlp': { type: 'string' },
    'max-line': { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (positionals.length)
    throw usageError(`mcp wrap: unexpected argument '${positionals[0]}'`, 'put the server command after --');
  const [command, ...args] = rest;
  if (!command)
    throw usageError(
      'mcp wrap: no server command given',
      'usage: gov mcp wrap [options] -- <server command> [args...]',
    );
  const name = values.name ?? defaultServerName(command);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name))
    throw usageError(
      `mcp wrap: invalid --name '${name}'`,
      'use 1-64 letters, digits, dots, dashes or underscores',
    );
  const maxLineBytes = positiveIntFlag(values['max-line'], '--max-line', 'use a byte count');
  const approvalTimeoutMs = durationFlag(values['approval-timeout'], '--approval-timeout');
  const quiet = values.quiet === true;
  const log = createLogger({ quiet });

  // stdin is the protocol channel, so there is no passphrase prompt: the vault needs the
  // keyring or GOV_VAULT_PASSPHRASE here.
  const session = await openSession({
    transport: 'stdio',
    policyPath: values.policy,
    command: [command, ...args],
    approvalTimeoutMs,
    shadow: values.shadow === true,
    auditSync: parseAuditSync(values['audit-sync']),
    auditOtlp: parseAuditOtlp(values['audit-otlp']),
    log,
  });
  const lines = batchedLines();
  const offs: Array<() => void> = [];
  try {
    if (!quiet) {
      log.info(`run ${session.run}: wrapping stdio server '${name}', policy ${session.policy.source}`);
      offs.push(
        session.calls.subscribe((e) => {
          const line = callLine(e);
          if (line) lines.write(line);
        }),
      );
    }
    // Held calls are always announced: without the id nobody can approve them.
    offs.push(
      session.broker.subscribe((ev) => {
        if (ev.type === 'held') lines.write(heldLine(ev.call));
      }),
    );
    const r = await runStdioWrap({
      pipeline: session.pipeline,
      server: { name, url: `stdio:${name}` },
      command,
      args,
      env: serverEnv(process.env, session.run),
      log,
      ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
    });
    for (const off of offs.splice(0)) off();
    lines.close();
    await session.close(r.detail);
    return r.exitCode;
  } catch (err) {
    for (const off of offs.splice(0)) off();
    lines.close();
    await session.close({ error: (err as Error).message ?? 'failed' });
    throw err;
  }
}
