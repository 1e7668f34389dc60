import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Json = Record<string, unknown>;

/** Every complete record of every run under `$GOV_HOME/audit` (the `.jsonl` files only), in file order. */
export function auditRecords(home: string): Json[] {
  const dir = join(home, 'audit');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => jsonLines<Json>(readFileSync(join(dir, f), 'utf8')));
}

/**
 * The complete lines of a JSON-lines file as it is being appended to: a last line without
 * its newline is not a record yet (a read can race the writer), so it is left for the next read.
 */
export function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .slice(0, -1)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}
