/**
 * The policy's I/O edge: find the file, read it, digest it, compile it. Everything it
 * calls is pure; every problem becomes a GovError('policy') naming file:line:col (exit 2).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { GovError } from '../errors.js';
import type { CompiledPolicy } from './compiled.js';
import { BUILTIN_POLICY_SOURCE, BUILTIN_POLICY_TEXT } from './default-policy.js';
import { compilePolicyText } from './from-text.js';

/** A policy that failed to load; `problems` holds every `file:line:col: message`. */
export class PolicyLoadError extends GovError {
  readonly problems: string[];
  constructor(problems: string[]) {
    const more =
      problems.length > 1
        ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`
        : '';
    super('policy', `${problems[0] ?? 'invalid policy'}${more}`, {
      hint: "fix the policy file and run 'gov policy check'",
    });
    this.name = 'PolicyLoadError';
    this.problems = problems;
  }
}

export function policyDigest(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** --policy, else ./gov.yaml, else $GOV_HOME/policy.yaml, else null (the built-in default). */
export function findPolicyPath(opts: { explicit?: string; cwd: string; home: string }): string | null {
  if (opts.explicit !== undefined) {
    const p = isAbsolute(opts.explicit) ? opts.explicit : resolve(opts.cwd, opts.explicit);
    if (!existsSync(p))
      throw new GovError('policy', `policy file ${opts.explicit} does not exist`, {
        hint: "check the --policy path, or run 'gov init' to write a starter gov.yaml",
      });
    if (!isFile(p))
      throw new GovError('policy', `policy file ${opts.explicit} is not a file`, {
        hint: 'pass a gov.yaml file',
      });
    return p;
  }
  const local = join(opts.cwd, 'gov.yaml');
  if (isFile(local)) return local;
  const home = join(opts.home, 'policy.yaml');
  if (isFile(home)) return home;
  return null;
}

export function loadPolicyFromText(text: string, fileLabel: string): CompiledPolicy {
  const r = compilePolicyText(text, { source: fileLabel, digest: policyDigest(text) });
  if (!r.ok) throw new PolicyLoadError(r.problems);
  return r.policy;
}

export function builtinPolicy(): CompiledPolicy {
  return loadPolicyFromText(BUILTIN_POLICY_TEXT, BUILTIN_POLICY_SOURCE);
}

/** null → the built-in default. */
export function loadPolicy(path: string | null): CompiledPolicy {
  if (path === null) return builtinPolicy();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new GovError('policy', `cannot read policy file ${path} (${code})`, {
      hint: 'check that the file exists and is readable',
      cause: err,
    });
  }
  return loadPolicyFromText(text, path);
}
