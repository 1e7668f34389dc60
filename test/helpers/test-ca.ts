import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeThrowawayPki, type ThrowawayPki } from '../../scripts/lib/throwaway-pki.js';

export interface TestPki extends ThrowawayPki {
  caPath: string;
  dir: string;
}

/** A throwaway CA (not gov's) and a server certificate for localhost, 127.0.0.1 and ::1. */
export function makeTestPki(name = 'gov test upstream CA'): TestPki {
  const pki = makeThrowawayPki({ name, ips: ['127.0.0.1', '::1'], validDays: 30 });
  const dir = mkdtempSync(join(tmpdir(), 'gov-pki-'));
  const caPath = join(dir, 'upstream-ca.pem');
  writeFileSync(caPath, pki.caPem);
  return { ...pki, caPath, dir };
}
