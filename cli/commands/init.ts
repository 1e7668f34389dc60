import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GovError } from '../../src/errors.js';
import { STARTER_POLICY_TEXT } from '../../src/policy/starter-policy.js';
import { STARTER_TESTS_TEXT } from '../../src/policy/starter-tests.js';
import { DEFAULT_TEST_FILE } from './policy-test.js';
import { parseCommandArgs, wantsHelp } from '../args.js';

const HELP = `usage: gov init

Write a commented starter policy, gov.yaml, and its tests, gov.test.yaml, in the current
directory. An existing gov.yaml is never overwritten (exit 2); an existing gov.test.yaml
is kept.

Then: edit it, 'gov policy check', 'gov policy test', and 'gov policy eval --tool NAME'
to try a call.
`;

export default function init(argv: string[]): number {
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return 0;
  }
  const { positionals } = parseCommandArgs('init', argv, {});
  if (positionals.length > 0)
    throw new GovError('usage', `init: unexpected argument '${positionals[0] ?? ''}'`, {
      hint: "see 'gov init --help'",
    });
  const path = join(process.cwd(), 'gov.yaml');
  try {
    // 'wx': create only; an existing file (or a race with another writer) is left untouched.
    writeFileSync(path, STARTER_POLICY_TEXT, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new GovError('config', 'gov.yaml already exists in this directory', {
        hint: "edit it, or remove it to start over; check it with 'gov policy check'",
      });
    throw new GovError('io', `cannot write ${path}: ${(err as Error).message}`, {
      hint: 'check the directory permissions',
      cause: err,
    });
  }
  let tests = true;
  try {
    writeFileSync(join(process.cwd(), DEFAULT_TEST_FILE), STARTER_TESTS_TEXT, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    // The policy is written; tests of the user's own are worth more than the starter ones.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new GovError('io', `cannot write ${DEFAULT_TEST_FILE}: ${(err as Error).message}`, {
        hint: 'check the directory permissions',
        cause: err,
      });
    tests = false;
  }
  process.stdout.write(
    tests
      ? `wrote gov.yaml and ${DEFAULT_TEST_FILE} — edit them, then run 'gov policy check' and 'gov policy test'\n`
      : `wrote gov.yaml (kept the existing ${DEFAULT_TEST_FILE}) — edit it, then run 'gov policy check'\n`,
  );
  return 0;
}
