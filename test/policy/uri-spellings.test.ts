/**
 * `uri:` rules against other spellings of one file: the SPEC's own example denies `file:///**\/.env`, but a
 * file URI has many spellings that every file-URL decoder (Node's fileURLToPath, Python's
 * url2pathname, Go's url.Parse) reads as the same path. Each spelling below names /app/.env.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { message, policy } from './helpers.js';

const p = policy(`
version: 1
default: allow
rules:
  - id: no-secret-reads
    method: resources/read
    uri: "file:///**/.env"
    decision: deny
  - id: read-app
    method: resources/read
    uri: "file:///app/**"
    decision: allow
`);

const SPELLINGS = [
  'file:///app/.env',
  'file:///app/%2Eenv',
  'file:///app/.en%76',
  'file:///app/.env?x=1',
  'file:///app/.env#frag',
  'file://localhost/app/.env',
  'file:///app/sub/../.env',
];

describe('uri rules: other spellings of a denied file', () => {
  for (const uri of SPELLINGS)
    it(`${uri} (read by the server as ${fileURLToPath(uri)}) is denied`, () => {
      expect(fileURLToPath(uri)).toBe('/app/.env');
      const d = p.decide(message('resources/read', { uri }));
      expect(d.decision).toBe('deny');
    });
});
