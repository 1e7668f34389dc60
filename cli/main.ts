import { formatError, GovError } from '../src/errors.js';

/** argv → command. The only place that calls process.exit. */
type CommandModule = { default: (argv: string[]) => number | Promise<number> };

const COMMANDS: Record<string, { load: () => Promise<CommandModule>; summary: string }> = {
  run: { load: () => import('./commands/run.js'), summary: 'run an agent behind the governed proxy' },
  mcp: {
    load: () => import('./commands/mcp-wrap.js'),
    summary: 'mcp wrap -- <server>: govern a stdio MCP server',
  },
  vault: {
    load: () => import('./commands/vault.js'),
    summary: 'vault set|list|rm: secrets the agent never sees',
  },
  audit: { load: () => import('./commands/audit.js'), summary: 'audit tail|verify: the evidence' },
  approvals: { load: () => import('./commands/approvals.js'), summary: 'full-screen view of held calls' },
  pending: { load: () => import('./commands/pending.js'), summary: 'list held calls' },
  approve: { load: () => import('./commands/approve.js'), summary: 'approve a held call' },
  deny: { load: () => import('./commands/deny.js'), summary: 'deny a held call' },
  policy: { load: () => import('./commands/policy.js'), summary: 'policy check|eval|test|replay' },
  init: { load: () => import('./commands/init.js'), summary: 'write a starter gov.yaml' },
  ca: { load: () => import('./commands/ca.js'), summary: 'ca path|regenerate' },
  doctor: {
    load: () => import('./commands/doctor.js'),
    summary: 'check prerequisites (keyring, CA, isolation)',
  },
  serve: {
    load: () => import('./commands/serve.js'),
    summary: 'a governed MCP gateway in front of shared servers',
  },
  pins: {
    load: () => import('./commands/pins.js'),
    summary: 'pins list|diff|accept|rm: pinned tool definitions',
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return `usage: gov <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'gov <command> --help' for a command's options.\n`;
}

/** Runs `then` once everything written to `stream` so far has been handed to the OS. */
function afterFlush(stream: NodeJS.WriteStream, then: () => void): void {
  if (stream.destroyed || stream.writableEnded) return then();
  stream.write('', () => then());
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  // `gov help run` is `gov run --help`.
  if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]]) return main([rest[0], '--help']);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write('gov 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd)
    throw new GovError('usage', `unknown command '${name}'`, { hint: "run 'gov --help' for the list" });
  const mod = await cmd.load();
  return mod.default(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A command resolves only when its work is done: once what it wrote is flushed, gov exits,
    // and a stray handle (an OTLP export to a dead collector still retrying) cannot keep it
    // alive. The timer covers an output stream that never drains.
    afterFlush(process.stdout, () => afterFlush(process.stderr, () => process.exit(code)));
    setTimeout(() => process.exit(code), 1500).unref();
  },
  (err: unknown) => {
    process.stderr.write(formatError(err) + '\n');
    if (process.env['GOV_DEBUG'] === '1' && err instanceof Error)
      process.stderr.write(`${err.stack ?? ''}\n`);
    process.exit(err instanceof GovError ? err.exitCode : 1);
  },
);
