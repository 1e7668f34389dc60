/** How policy subcommands find the policy and print paths (relative to the cwd when inside it). */
import { isAbsolute, relative } from 'node:path';
import { govHome } from '../../src/home.js';
import { findPolicyPath } from '../../src/policy/load.js';

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

/** --policy, else ./gov.yaml, else $GOV_HOME/policy.yaml, else null (the built-in default). */
export function locatePolicy(explicit: string | undefined): string | null {
  const found = findPolicyPath({
    ...(explicit !== undefined ? { explicit } : {}),
    cwd: process.cwd(),
    home: govHome(),
  });
  return found === null ? null : displayPath(found);
}
