/** Loads the MCP message corpus under test/fixtures/mcp. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const FIXTURES = fileURLToPath(new URL('../fixtures/mcp/', import.meta.url));
export const VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'] as const;

export interface Fixture {
  version: string;
  name: string;
  bytes: Uint8Array;
}

export function fixture(dir: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(FIXTURES, dir, name)));
}

export function versionFixtures(ext = '.json'): Fixture[] {
  const out: Fixture[] = [];
  for (const version of VERSIONS) {
    for (const name of readdirSync(path.join(FIXTURES, version)).sort()) {
      if (!name.endsWith(ext) || name === 'headers.json') continue;
      out.push({ version, name, bytes: fixture(version, name) });
    }
  }
  return out;
}

export function hostileFixtures(): Fixture[] {
  return readdirSync(path.join(FIXTURES, 'hostile'))
    .sort()
    .map((name) => ({ version: 'hostile', name, bytes: fixture('hostile', name) }));
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
