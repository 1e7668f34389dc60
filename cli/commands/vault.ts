import { GovError, usageError } from '../../src/errors.js';
import { govHome } from '../../src/home.js';
import { findPolicyPath, loadPolicy } from '../../src/policy/load.js';
import { assertSecretName, openVault, type PromptPurpose, type VaultEntryInfo } from '../../vault/store.js';
import { openTerminalInput, promptHidden } from '../../vault/tty-prompt.js';
import { parseCommandArgs, subcommandHelp } from '../args.js';

const HELP = `usage: gov vault set NAME
       gov vault list [--json] [--policy FILE]
       gov vault rm NAME

Secrets the agent never sees. Values are encrypted (XChaCha20-Poly1305) under a master
key kept in the OS keyring, or derived from a passphrase (Argon2id) when there is no
keyring. No command ever prints a value.

commands:
  set NAME     store a value: typed at a hidden prompt on a terminal, else read from
               stdin (one trailing newline is stripped)
  list         names, created/updated times and the hosts the policy binds each to
  rm NAME      delete an entry (exit 1 if there is none)

options:
  --json          list: one JSON array of {name, created, updated, hosts}
  --policy FILE   list: the policy whose credentials give the hosts
  -h, --help      show this help

Names: 1-64 characters of A-Z a-z 0-9 . _ -

environment:
  GOV_VAULT_PASSPHRASE   passphrase for a vault without keyring (else prompted on a terminal)
  GOV_VAULT_BACKEND      keyring | passphrase: the key source for a new vault (default: the
                         keyring when one is available)
`;

export default async function vault(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const help = subcommandHelp(sub, rest, HELP);
  if (help !== null) return help;
  switch (sub) {
    case 'set':
      return setCommand(rest);
    case 'list':
    case 'ls':
      return listCommand(rest);
    case 'rm':
    case 'remove':
      return rmCommand(rest);
    default:
      throw usageError(`vault: unknown subcommand '${sub}'`, "see 'gov vault --help'");
  }
}

function oneName(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw usageError(`${command}: expected one NAME`, "see 'gov vault --help'");
  const name = positionals[0]!;
  assertSecretName(name);
  return name;
}

/** Passphrase on the terminal when GOV_VAULT_PASSPHRASE is not set; a new one is typed twice. */
async function promptPassphrase(purpose: PromptPurpose): Promise<string> {
  const term = openTerminalInput();
  if (!term) {
    throw new GovError('vault', 'the vault needs a passphrase and there is no terminal to ask for it', {
      hint: 'set GOV_VAULT_PASSPHRASE',
    });
  }
  try {
    if (purpose === 'unlock') return await promptHidden('Vault passphrase: ', term.input);
    const first = await promptHidden('New vault passphrase: ', term.input);
    if (first === '')
      throw new GovError('vault', 'the vault passphrase is empty', { hint: 'type a non-empty passphrase' });
    const again = await promptHidden('Repeat passphrase: ', term.input);
    if (again !== first)
      throw new GovError('vault', 'the passphrases do not match', { hint: 'run the command again' });
    return first;
  } finally {
    term.close();
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

async function readValue(name: string): Promise<string> {
  if (process.stdin.isTTY) return promptHidden(`Value for ${name}: `, process.stdin);
  const text = await readAll(process.stdin);
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}

async function setCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommandArgs('vault set', argv, {});
  const name = oneName('vault set', positionals);
  // Unlock first: a wrong passphrase should fail before the secret is typed.
  const v = await openVault({ home: govHome(), prompt: promptPassphrase });
  const value = await readValue(name);
  if (value === '')
    throw usageError(`vault set: the value for '${name}' is empty`, 'type or pipe a non-empty value');
  await v.set(name, value);
  process.stdout.write(
    `Stored '${name}' in the vault (${v.kdfKind() === 'keyring' ? 'OS keyring key' : 'passphrase'}).\n`,
  );
  return 0;
}

function hostsBySecret(policyFlag: string | undefined, home: string): Map<string, string[]> | null {
  try {
    const policy = loadPolicy(
      findPolicyPath({
        ...(policyFlag === undefined ? {} : { explicit: policyFlag }),
        cwd: process.cwd(),
        home,
      }),
    );
    const out = new Map<string, string[]>();
    for (const c of policy.credentials) {
      // Plain-HTTP bindings say so; https (the default) is shown as host:port.
      const hosts = c.scheme === 'http' ? c.hosts.map((h) => `http://${h}`) : c.hosts;
      out.set(c.secret, [...(out.get(c.secret) ?? []), ...hosts]);
    }
    return out;
  } catch (err) {
    if (policyFlag !== undefined) throw err;
    // The listing does not depend on the policy; say why the hosts are missing and go on.
    process.stderr.write(
      `gov: hosts not shown — ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`,
    );
    return null;
  }
}

async function listCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('vault list', argv, {
    json: { type: 'boolean' },
    policy: { type: 'string' },
  });
  if (positionals.length > 0)
    throw usageError(`vault list: unexpected argument '${positionals[0]}'`, "see 'gov vault --help'");
  const home = govHome();
  const v = await openVault({ home, skipUnlock: true });
  const hosts = hostsBySecret(values.policy, home);
  const rows = v.list().map((e: VaultEntryInfo) => ({ ...e, hosts: hosts?.get(e.name) ?? [] }));
  const stored = new Set(rows.map((r) => r.name));
  for (const [secret] of hosts ?? []) {
    if (!stored.has(secret))
      process.stderr.write(
        `gov: the policy binds '${secret}', which is not in the vault — run 'gov vault set ${secret}'\n`,
      );
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write("The vault is empty. Add a secret with 'gov vault set NAME'.\n");
  } else {
    const table = [
      ['NAME', 'UPDATED', 'CREATED', 'HOSTS'],
      ...rows.map((r) => [r.name, r.updated, r.created, r.hosts.join(', ') || '-']),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table)
      process.stdout.write(
        row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n',
      );
  }
  return 0;
}

async function rmCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommandArgs('vault rm', argv, {});
  const name = oneName('vault rm', positionals);
  const v = await openVault({ home: govHome(), skipUnlock: true });
  if (!(await v.rm(name))) {
    process.stderr.write(`gov: no vault entry '${name}' — see 'gov vault list'\n`);
    return 1;
  }
  process.stdout.write(`Removed '${name}' from the vault.\n`);
  return 0;
}
