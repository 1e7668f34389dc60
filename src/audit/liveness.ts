import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../approvals/client.js';
import { descriptorSchema } from '../approvals/protocol.js';
import type { RunLink } from './run-chain.js';
import { verifySignature } from './signing-key.js';

/**
 * Proof that an unsealed run is really in progress: its gov process answers on the run's
 * control socket with its audit chain head, signed together with a fresh nonce. A pid in
 * `runs/<run>.json`, or a socket someone else opened, proves nothing; only the holder of
 * the audit key can produce that signature.
 */

/** The text a live run signs: binds the run, the verifier's nonce and the chain head. */
export function livenessText(run: string, nonce: string, seq: number, hash: string): string {
  return `live:${run}:${nonce}:${seq}:${hash}`;
}

const ASK_TIMEOUT_MS = 2000;

/** The signed chain head of a live run, or null when no live gov holding `run` answers. */
export async function askLiveHead(runsDir: string, run: string, key: KeyObject): Promise<RunLink | null> {
  let socket = join(runsDir, `${run}.sock`);
  const descriptor = join(runsDir, `${run}.json`);
  if (!existsSync(descriptor) && !existsSync(socket)) return null;
  try {
    const desc = descriptorSchema.safeParse(JSON.parse(readFileSync(descriptor, 'utf8')));
    if (desc.success && desc.data.run === run) socket = desc.data.socket;
  } catch {
    // no descriptor: try the default socket path
  }
  const nonce = randomBytes(16).toString('hex');
  let reply: Record<string, unknown>;
  try {
    reply = await request(socket, { op: 'audit_head', nonce }, ASK_TIMEOUT_MS);
  } catch {
    return null;
  }
  const { seq, hash, signature } = reply;
  if (reply['ok'] !== true || reply['run'] !== run) return null;
  if (typeof seq !== 'number' || typeof hash !== 'string') return null;
  if (!verifySignature(key, livenessText(run, nonce, seq, hash), signature)) return null;
  return { run, seq, hash };
}
