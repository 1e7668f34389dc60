import { approve, deny, getPending } from '../../src/approvals/client.js';
import { subscribeAll } from '../../src/approvals/subscription.js';
import { usageError } from '../../src/errors.js';
import { govHome } from '../../src/home.js';
import { parseCommandArgs, wantsHelp } from '../args.js';
import { preferLiveTerminal } from '../ui/interactive.js';

const HELP = `usage: gov approvals

Full-screen view of the calls held for approval in every live run.
Keys: ↑/↓ select · j/k/PgUp/PgDn/space scroll the arguments · a approve once ·
A approve this tool for the rest of its run · d deny (type an optional reason, Enter) · q quit.
Approving needs every line of the call's arguments to have been on screen; large arguments,
listed as a summary, are fetched in full first.

Needs an interactive terminal; from scripts use 'gov pending', 'gov approve ID'
and 'gov deny ID'.
`;

// Alternate screen buffer: the view disappears on exit and the scrollback is untouched.
const ENTER_ALT = '\x1b[?1049h\x1b[H';
const LEAVE_ALT = '\x1b[?1049l';

export default async function approvals(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return 0;
  }
  const { positionals } = parseCommandArgs('approvals', argv, {});
  if (positionals.length > 0) throw usageError(`approvals: unexpected argument '${positionals[0]}'`);
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write(
      "gov: approvals needs an interactive terminal — use 'gov pending' to list held calls and 'gov approve ID' / 'gov deny ID' to decide\n",
    );
    return 2;
  }
  preferLiveTerminal();
  const { mountApprovals } = await import('../ui/ApprovalsApp.js');
  const home = govHome();
  process.stdout.write(ENTER_ALT);
  let exit: () => void = () => {};
  const exited = new Promise<void>((resolve) => (exit = resolve));
  const app = mountApprovals({
    subscribe: (onEvent) => subscribeAll(home, onEvent),
    getFull: (call) => getPending(home, call.id, call.run),
    approve: (call, always) =>
      approve(home, call.id, { run: call.run, always, approver: 'tui', argsDigest: call.args_digest }),
    deny: (call, reason) =>
      deny(home, call.id, { run: call.run, approver: 'tui', ...(reason ? { reason } : {}) }),
    onExit: () => exit(),
  });
  try {
    await exited;
  } finally {
    app.unmount();
    process.stdout.write(LEAVE_ALT);
  }
  return 0;
}
