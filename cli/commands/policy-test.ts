/** `gov policy test [TESTFILE...] [--json]`: run table-driven policy tests (go test style). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GovError, usageError } from '../../src/errors.js';
import { loadPolicy } from '../../src/policy/load.js';
import {
  parsePolicyTests,
  runPolicyTests,
  type PolicyTestResult,
  type PolicyTestsParse,
} from '../../src/policy/policy-tests.js';
import { parseCommandArgs } from '../args.js';
import { displayPath, locatePolicy } from './policy-locate.js';

/** The test file gov looks for when none is named: beside the policy, else in the cwd. */
export const DEFAULT_TEST_FILE = 'gov.test.yaml';

function readCases(file: string): PolicyTestsParse {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GovError(
      'usage',
      `cannot read test file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        hint: 'check the TESTFILE path',
      },
    );
  }
  return parsePolicyTests(text, displayPath(file));
}

function expectedText(e: PolicyTestResult['expected']): string {
  return e.rule === undefined ? e.decision : `${e.decision} (rule ${e.rule})`;
}

export function policyTest(argv: string[]): number {
  const { values, positionals } = parseCommandArgs('policy test', argv, {
    policy: { type: 'string' },
    json: { type: 'boolean' },
  });
  const policyPath = locatePolicy(values.policy);
  let files = positionals;
  if (files.length === 0) {
    const beside = join(policyPath === null ? process.cwd() : dirname(policyPath), DEFAULT_TEST_FILE);
    if (!existsSync(beside))
      throw usageError(
        `policy test: no test file (looked for ${displayPath(beside)})`,
        `name one, e.g. 'gov policy test tests.yaml', or write ${DEFAULT_TEST_FILE} beside the policy`,
      );
    files = [beside];
  }
  // Every file is parsed before anything runs: a malformed file is a usage error (exit 2).
  const parsed = files.map((f) => ({ file: f, r: readCases(f) }));
  let bad = false;
  for (const { r } of parsed) {
    if (r.ok) continue;
    bad = true;
    for (const problem of r.problems) process.stderr.write(`gov: ${problem}\n`);
  }
  if (bad) return 2;
  const policy = loadPolicy(policyPath);
  const reports = parsed.map(({ file, r }) => ({
    file: displayPath(file),
    results: r.ok ? runPolicyTests(policy, r.cases) : [],
  }));
  const failed = reports.reduce((n, r) => n + r.results.filter((x) => !x.ok).length, 0);

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        policy: policy.source,
        passed: reports.reduce((n, r) => n + r.results.length, 0) - failed,
        failed,
        files: reports.map((r) => ({
          file: r.file,
          cases: r.results.map(({ name, at, ok, expected, actual }) => ({ name, at, ok, expected, actual })),
        })),
      })}\n`,
    );
    return failed > 0 ? 1 : 0;
  }
  for (const r of reports) {
    const bad = r.results.filter((x) => !x.ok);
    for (const f of bad) {
      process.stdout.write(
        `--- FAIL: ${f.name} (${f.at})\n` +
          `    expected: ${expectedText(f.expected)}\n` +
          `    actual:   ${f.actual.decision} (rule ${f.actual.rule}): ${f.actual.reason}\n`,
      );
    }
    const n = r.results.length;
    process.stdout.write(
      bad.length > 0
        ? `FAIL\t${r.file}\t${bad.length} of ${n} case${n === 1 ? '' : 's'} failed\n`
        : `ok\t${r.file}\t${n} case${n === 1 ? '' : 's'}\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}
