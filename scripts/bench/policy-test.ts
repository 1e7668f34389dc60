/**
 * `gov policy test` with 1,000 cases against the bench policy (50 rules, a realistic size):
 * wall time of the real CLI (node start-up, YAML parse, every decide, report), as a
 * pre-commit hook runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyText } from './in-process.js';
import { ROOT } from './processes.js';
import { median, round } from './stats.js';

const RULES = 50;

/** n cases over the bench policy's rule shapes; every case passes. */
export function policyTestsText(n: number, rules: number): string {
  const lines = ['cases:'];
  for (let i = 0; i < n; i++) {
    const k = i % (rules - 1);
    if (k % 3 === 0)
      lines.push(
        `  - name: case ${i}`,
        `    call: {tool: t${k}_x}`,
        `    expect: {decision: allow, rule: r${k}}`,
      );
    else if (k % 3 === 1)
      lines.push(
        `  - name: case ${i}`,
        `    call: {tool: t${k}, args: {n: 0}}`,
        `    expect: {decision: approve, rule: r${k}}`,
      );
    else
      lines.push(
        `  - name: case ${i}`,
        `    call: {tool: nothing_${i}}`,
        '    expect: {decision: deny, rule: default}',
      );
  }
  return lines.join('\n') + '\n';
}

export interface PolicyTestFigure {
  cases: number;
  rules: number;
  wallMs: number;
  runs: number;
}

export function benchPolicyTest(cases: number, runs: number): PolicyTestFigure {
  const dir = mkdtempSync(join(tmpdir(), 'gov-bench-policy-test-'));
  try {
    writeFileSync(join(dir, 'gov.yaml'), policyText(RULES));
    writeFileSync(join(dir, 'gov.test.yaml'), policyTestsText(cases, RULES));
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'gov.js'), 'policy', 'test'], {
        cwd: dir,
        env: { ...process.env, GOV_HOME: join(dir, 'home') },
        encoding: 'utf8',
        timeout: 60_000,
      });
      times.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`gov policy test failed (${r.status}): ${r.stdout}${r.stderr}`);
    }
    return { cases, rules: RULES, wallMs: round(median(times), 1), runs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
