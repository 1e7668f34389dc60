import { homePaths } from '../../src/home.js';
import { usageError } from '../../src/errors.js';
import { checkCa, checkIsolation, checkKeyring, checkNode, type Check } from '../../src/doctor/checks.js';
import { parseCommandArgs, wantsHelp } from '../args.js';

const HELP = `usage: gov doctor [--json]

Check what gov needs on this machine: the Node.js version, the OS keyring (vault master key),
gov's CA, and whether 'gov run --isolate' can work here (and if not, why and how to fix it).
Exit 1 when something gov cannot work without fails; unavailable features are warnings.

options:
  --json       one JSON object: {"ok": bool, "checks": [{name, status, detail, fix?}]}
  -h, --help   this help
`;

export default async function doctor(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return 0;
  }
  const { values, positionals } = parseCommandArgs('doctor', argv, { json: { type: 'boolean' } });
  if (positionals.length)
    throw usageError(`doctor: unexpected argument '${positionals[0]}'`, 'see gov doctor --help');
  const paths = homePaths();
  const checks: Check[] = [
    checkNode(),
    await checkKeyring(paths.home, process.env),
    checkCa(paths),
    checkIsolation(process.env),
  ];
  const ok = checks.every((c) => c.status !== 'fail');
  if (values.json) process.stdout.write(JSON.stringify({ ok, checks }) + '\n');
  else
    for (const c of checks)
      process.stdout.write(
        `${c.status.padEnd(5)} ${c.name.padEnd(10)} ${c.detail}${c.fix && c.status !== 'ok' ? ` — ${c.fix}` : ''}\n`,
      );
  return ok ? 0 : 1;
}
