/**
 * Live reload: watch the policy file and hand over a newly compiled policy after each valid
 * edit, or the first problem (file:line:col) after an invalid one. The directory is watched,
 * not the file, because editors save by writing a new file and renaming it over the old.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { CompiledPolicy } from './compiled.js';
import { loadPolicyFromText, PolicyLoadError } from './load.js';

export interface PolicyWatchOptions {
  path: string;
  /** Digest of the policy in force; an event that leaves the text unchanged is ignored. */
  digest: string;
  onReload(policy: CompiledPolicy): void;
  /** One line: `file:line:col: message`, or why the file could not be read. */
  onInvalid(problem: string): void;
  /** Editors write in several steps; the file is read once it has been quiet this long. */
  settleMs?: number;
}

/** `reload()`: read the file now (gov serve's SIGHUP), not only when it changes. */
export function watchPolicy(o: PolicyWatchOptions): { close(): void; reload(): void } {
  const name = basename(o.path);
  let digest = o.digest;
  let timer: NodeJS.Timeout | undefined;

  const reload = (): void => {
    timer = undefined;
    let text: string;
    try {
      text = readFileSync(o.path, 'utf8');
    } catch (err) {
      // Mid-rename the file may be briefly absent; the rename's own event follows.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      o.onInvalid(`cannot read ${o.path}: ${(err as Error).message}`);
      return;
    }
    let policy: CompiledPolicy;
    try {
      policy = loadPolicyFromText(text, o.path);
    } catch (err) {
      o.onInvalid(err instanceof PolicyLoadError ? (err.problems[0] ?? err.message) : (err as Error).message);
      return;
    }
    if (policy.digest === digest) return;
    digest = policy.digest;
    o.onReload(policy);
  };

  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(o.path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(reload, o.settleMs ?? 50);
    });
  } catch (err) {
    o.onInvalid(`cannot watch ${o.path} for changes: ${(err as Error).message}`);
    return { close: () => undefined, reload };
  }
  watcher.on('error', (err) => o.onInvalid(`stopped watching ${o.path}: ${err.message}`));
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
    reload() {
      if (timer) clearTimeout(timer);
      reload();
    },
  };
}
