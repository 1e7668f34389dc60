import { loadOrCreateCa, regenerateCa } from '../../src/proxy/ca.js';
import { homePaths } from '../../src/home.js';
import { usageError } from '../../src/errors.js';
import { wantsHelp } from '../args.js';

const HELP = `usage: gov ca path | gov ca regenerate

  path         print the path of gov's CA certificate (PEM), creating the CA on first use
  regenerate   replace the CA (certificate and key); runs started afterwards use the new one
`;

export default function ca(argv: string[]): number {
  if (wantsHelp(argv) || argv.length === 0) {
    process.stdout.write(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const [sub, ...rest] = argv;
  if (rest.length) throw usageError(`ca ${sub}: unexpected argument '${rest[0]}'`, "see 'gov ca --help'");
  const paths = homePaths();
  if (sub === 'path') {
    process.stdout.write(loadOrCreateCa(paths).certPath + '\n');
    return 0;
  }
  if (sub === 'regenerate') {
    const c = regenerateCa(paths);
    process.stdout.write(`gov: new CA written to ${c.certPath}\n`);
    return 0;
  }
  throw usageError(`unknown ca subcommand '${sub}'`, "use 'gov ca path' or 'gov ca regenerate'");
}
