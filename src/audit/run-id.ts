import { randomBytes } from 'node:crypto';

/** Run ids are file names: `<UTC second>-<6 hex>`, e.g. `20261121T050102Z-3f9a1c`. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A new run id that sorts by start time (lexicographic order = chronological order to the second). */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** True when `id` is safe to use as a file name under the audit directory. */
export function isValidRunId(id: string): boolean {
  return RUN_ID_PATTERN.test(id) && !id.includes('..');
}

/** The short form shown in tables: the random suffix of a generated id, else the first 8 chars. */
export function shortRunId(id: string): string {
  const m = /^\d{8}T\d{6}Z-([0-9a-f]+)$/.exec(id);
  return m?.[1] ?? id.slice(0, 8);
}
