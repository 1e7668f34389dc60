import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Json = Record<string, unknown>;

/**
 * Every record of every run under `$GOV_HOME/audit` (the `.jsonl` files only), in file order.
 * A read racing gov's append can see a record's first bytes only: a last line without its
 * newline is not a record yet, so it is left for the next read.
 */
export function auditRecords(home: string): Json[] {
  const dir = join(home, 'audit');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .slice(0, -1)
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Json),
    );
}
