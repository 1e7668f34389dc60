import { approve } from '../../src/approvals/client.js';
import { GovError, usageError } from '../../src/errors.js';
import { govHome } from '../../src/home.js';
import { parseCommandArgs, wantsHelp } from '../args.js';
import { sanitizeInline } from '../../src/terminal-text.js';

const HELP = `usage: gov approve ID [--always]

Approve one held call (IDs come from 'gov pending').

options:
  --always    also allow this tool on this server for the rest of that run
  -h, --help  show this help

Exit status: 0 approved, 1 unknown id or no longer pending, 2 usage error.
`;

export default async function approveCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return 0;
  }
  const { values, positionals } = parseCommandArgs('approve', argv, { always: { type: 'boolean' } });
  const [id, extra] = positionals;
  if (id === undefined || id === '')
    throw usageError('approve: missing ID', "run 'gov pending' to list held calls");
  if (extra !== undefined)
    throw usageError(`approve: unexpected argument '${extra}'`, "see 'gov approve --help'");
  const r = await approve(govHome(), id, { always: values.always === true, approver: 'cli' });
  if (!r.settled) {
    throw new GovError('not-found', sanitizeInline(r.error, 300), {
      hint: "run 'gov pending' to list held calls",
    });
  }
  process.stdout.write(
    `approved ${id} (run ${r.run})${values.always ? ' — tool allowed for the rest of the run' : ''}\n`,
  );
  return 0;
}
