import { homePaths, ensureDir } from '../../src/home.js';
import { usageError } from '../../src/errors.js';
import { addToken, listTokens, removeToken, serveTokensPath } from '../../src/gateway/serve-tokens.js';

const HELP = `usage: gov serve token add NAME | list [--json] | rm NAME

Bearer tokens for gov serve --auth bearer. 'add' prints the new token once; gov keeps only
its SHA-256 in $GOV_HOME/serve-tokens.json (0600). A running gateway sees changes within a second.
`;

export default function serveToken(argv: string[]): Promise<number> {
  return Promise.resolve(tokenCommand(argv));
}

function tokenCommand(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  const paths = homePaths();
  ensureDir(paths.home);
  const file = serveTokensPath(paths.home);
  if (sub === 'add' || sub === 'rm') {
    const name = rest[0];
    if (name === undefined || rest.length > 1)
      throw usageError(`serve token ${sub}: give exactly one NAME`, `usage: gov serve token ${sub} NAME`);
    if (sub === 'add') {
      const token = addToken(file, name);
      process.stdout.write(`${token}\n`);
      process.stderr.write(`gov: token '${name}' added; it is shown only this once — store it now\n`);
      return 0;
    }
    if (!removeToken(file, name)) {
      process.stderr.write(`gov: no token named '${name}' — see gov serve token list\n`);
      return 1;
    }
    process.stderr.write(`gov: token '${name}' removed\n`);
    return 0;
  }
  if (sub === 'list') {
    const tokens = listTokens(file);
    if (rest.includes('--json')) process.stdout.write(JSON.stringify(tokens) + '\n');
    else for (const t of tokens) process.stdout.write(`${t.name}\t${t.created}\n`);
    return 0;
  }
  throw usageError(`serve token: unknown subcommand '${sub}'`, 'use add, list or rm');
}
