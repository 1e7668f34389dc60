import { deny } from '../../src/approvals/client.js';
import { GovError, usageError } from '../../src/errors.js';
import { govHome } from '../../src/home.js';
import { parseCommandArgs, wantsHelp } from '../args.js';
import { sanitizeInline } from '../../src/terminal-text.js';

const HELP = `usage: gov deny ID [--reason TEXT]

Deny one held call (IDs come from 'gov pending'). The agent receives
"Denied by approver: <reason>".

options:
  --reason TEXT  why (recorded in the audit trail and sent to the agent)
  -h, --help     show this help

Exit status: 0 denied, 1 unknown id or no longer pending, 2 usage error.
`;

export default async function denyCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return 0;
  }
  const { values, positionals } = parseCommandArgs('deny', argv, { reason: { type: 'string' } });
  const [id, extra] = positionals;
  if (id === undefined || id === '')
    throw usageError('deny: missing ID', "run 'gov pending' to list held calls");
  if (extra !== undefined)
    throw usageError(`deny: unexpected argument '${extra}'`, "quote the reason: --reason 'TEXT'");
  const reason = values.reason?.trim();
  if (reason !== undefined && reason.length > 2000)
    throw usageError('deny: --reason is longer than 2000 characters');
  const r = await deny(govHome(), id, { ...(reason ? { reason } : {}), approver: 'cli' });
  if (!r.settled) {
    throw new GovError('not-found', sanitizeInline(r.error, 300), {
      hint: "run 'gov pending' to list held calls",
    });
  }
  process.stdout.write(`denied ${id} (run ${r.run})\n`);
  return 0;
}
