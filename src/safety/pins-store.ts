/**
 * `$GOV_HOME/pins.json`: the tool definitions a user has accepted, per server identity, and
 * the changed or new definitions gov has seen since (kept so `gov pins diff` can show them
 * and `gov pins accept` can pin them). Every write re-reads the file and replaces it
 * atomically under a lock, so a running gov and the `gov pins` commands neither tear nor
 * lose each other's writes.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../../vault/atomic-file.js';
import { acquireLockSync } from '../../vault/file-lock.js';
import { GovError } from '../errors.js';
import type { ToolDefinition } from './tool-definition.js';

const definition = z.record(z.unknown()).refine((d) => typeof d['name'] === 'string');
const pinnedTool = z.object({ fingerprint: z.string(), definition, pinned_at: z.string() });
const seenTool = z.object({ fingerprint: z.string(), definition, seen_at: z.string() });
const serverPins = z.object({
  url: z.string(),
  tools: z.record(pinnedTool),
  changed: z.record(seenTool).default({}),
});
const pinsFile = z.object({ version: z.literal(1), servers: z.record(serverPins) });

export type PinnedTool = { fingerprint: string; definition: ToolDefinition; pinned_at: string };
export type SeenTool = { fingerprint: string; definition: ToolDefinition; seen_at: string };
export interface ServerPins {
  url: string;
  tools: Record<string, PinnedTool>;
  /** Definitions seen that differ from the pin (or have none); cleared by accept. */
  changed: Record<string, SeenTool>;
}
export interface PinsFile {
  version: 1;
  servers: Record<string, ServerPins>;
}

export function emptyPins(): PinsFile {
  return { version: 1, servers: Object.create(null) as Record<string, ServerPins> };
}

/** Missing file = no pins; an unreadable or malformed one is an error (never silently reset). */
export function readPins(path: string): PinsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyPins();
    throw new GovError('io', `cannot read ${path}: ${(err as Error).message}`, {
      hint: 'check its permissions',
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new GovError('config', `${path} is not valid JSON: ${(err as Error).message}`, {
      hint: 'fix or remove the file (gov pins it again on first use)',
    });
  }
  const r = pinsFile.safeParse(data);
  if (!r.success)
    throw new GovError('config', `${path} is not a gov pins file (${r.error.issues[0]?.message ?? ''})`, {
      hint: 'fix or remove the file (gov pins it again on first use)',
    });
  const file = emptyPins();
  Object.assign(file.servers, r.data.servers as unknown as Record<string, ServerPins>);
  return file;
}

/**
 * Re-read, apply `mutate`, and write atomically (0600) when it reports a change, all under
 * `pins.json.lock`, so a running gov and `gov pins accept` never lose each other's update.
 */
export function updatePins(path: string, mutate: (file: PinsFile) => boolean): PinsFile {
  const lock = acquireLockSync(`${path}.lock`, { what: 'pins.json', staleMs: 10_000 });
  try {
    const file = readPins(path);
    if (mutate(file)) writeFileAtomic(path, JSON.stringify(file, null, 2) + '\n');
    return file;
  } finally {
    lock.release();
  }
}

function serverEntry(file: PinsFile, key: string, url: string): ServerPins {
  let s = file.servers[key];
  if (!s) {
    s = { url, tools: {}, changed: {} };
    file.servers[key] = s;
  }
  return s;
}

/** Trust on first use: pin every definition of a server that has no pins yet. */
export function pinAll(
  file: PinsFile,
  key: string,
  url: string,
  defs: Array<{ definition: ToolDefinition; fingerprint: string }>,
  now: string,
): boolean {
  if (file.servers[key] && Object.keys(file.servers[key].tools).length > 0) return false;
  return pinNew(file, key, url, defs, now);
}

/**
 * Pin the tools that have no pin yet: the later pages of the paginated list that first pinned
 * the server (trust on first use covers the whole list). False when there were none.
 */
export function pinNew(
  file: PinsFile,
  key: string,
  url: string,
  defs: Array<{ definition: ToolDefinition; fingerprint: string }>,
  now: string,
): boolean {
  const s = serverEntry(file, key, url);
  let added = false;
  for (const d of defs) {
    if (s.tools[d.definition.name]) continue;
    s.tools[d.definition.name] = { ...d, pinned_at: now };
    added = true;
  }
  return added;
}

/** Remember a definition that differs from its pin; false when it is already recorded. */
export function recordChanged(
  file: PinsFile,
  key: string,
  url: string,
  seen: { definition: ToolDefinition; fingerprint: string },
  now: string,
): boolean {
  const s = serverEntry(file, key, url);
  const name = seen.definition.name;
  if (s.changed[name]?.fingerprint === seen.fingerprint) return false;
  s.changed[name] = { ...seen, seen_at: now };
  return true;
}

/** Pin the recorded changes of a server (one tool, or all); returns the tools accepted. */
export function acceptChanged(file: PinsFile, key: string, tool: string | undefined, now: string): string[] {
  const s = file.servers[key];
  if (!s) return [];
  const names = tool === undefined ? Object.keys(s.changed) : s.changed[tool] ? [tool] : [];
  for (const n of names) {
    const c = s.changed[n]!;
    s.tools[n] = { fingerprint: c.fingerprint, definition: c.definition, pinned_at: now };
    delete s.changed[n];
  }
  return names;
}

/** Forget a server's pins (one tool, or the whole server); returns the tools removed. */
export function removePins(file: PinsFile, key: string, tool: string | undefined): string[] {
  const s = file.servers[key];
  if (!s) return [];
  if (tool === undefined) {
    delete file.servers[key];
    return [...new Set([...Object.keys(s.tools), ...Object.keys(s.changed)])];
  }
  const had = tool in s.tools || tool in s.changed;
  delete s.tools[tool];
  delete s.changed[tool];
  if (Object.keys(s.tools).length === 0 && Object.keys(s.changed).length === 0) delete file.servers[key];
  return had ? [tool] : [];
}
