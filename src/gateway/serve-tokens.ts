/**
 * Bearer tokens for `gov serve`'s edge authentication. Only a SHA-256 of each token is kept,
 * in `$GOV_HOME/serve-tokens.json` (0600): a token is 256 random bits, so its hash reveals
 * nothing and needs no vault key, which lets a gateway start unattended (no keyring, no
 * passphrase) while the vault stays for the secrets gov must be able to read back.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { fileStamp, writeFileAtomic } from '../../vault/atomic-file.js';
import { acquireLockSync } from '../../vault/file-lock.js';
import { GovError } from '../errors.js';

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const TOKEN_PREFIX = 'gov_st_';

const fileSchema = z.object({
  tokens: z.array(
    z.object({
      name: z.string().regex(NAME_RE),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      created: z.string(),
    }),
  ),
});
type TokenFile = z.infer<typeof fileSchema>;

export function serveTokensPath(home: string): string {
  return join(home, 'serve-tokens.json');
}

function hashOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function readTokens(path: string): TokenFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { tokens: [] };
    throw new GovError('config', `cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new GovError('config', `${path} is not a gov serve token file`, {
      hint: 'remove it and add the tokens again with gov serve token add NAME',
    });
  return parsed.data;
}

export function checkTokenName(name: string): void {
  if (!NAME_RE.test(name))
    throw new GovError('usage', `invalid token name '${name}'`, {
      hint: 'use [A-Za-z0-9._-], 1-64 characters',
    });
}

/** Creates a token, stores its hash and returns the token (shown to the user once). */
export function addToken(path: string, name: string): string {
  checkTokenName(name);
  return underLock(path, () => {
    const file = readTokens(path);
    if (file.tokens.some((t) => t.name === name))
      throw new GovError('usage', `a token named '${name}' exists`, {
        hint: `remove it first with gov serve token rm ${name}`,
      });
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    file.tokens.push({ name, hash: hashOf(token).toString('hex'), created: new Date().toISOString() });
    writeFileAtomic(path, JSON.stringify(file, null, 2) + '\n');
    return token;
  });
}

/** Read-modify-write under `<file>.lock`, so two `token add`s never drop one another. */
function underLock<T>(path: string, update: () => T): T {
  const lock = acquireLockSync(`${path}.lock`, { what: 'serve-tokens.json', staleMs: 10_000 });
  try {
    return update();
  } finally {
    lock.release();
  }
}

export function listTokens(path: string): Array<{ name: string; created: string }> {
  return readTokens(path).tokens.map(({ name, created }) => ({ name, created }));
}

/** false when there was no such token. */
export function removeToken(path: string, name: string): boolean {
  return underLock(path, () => {
    const file = readTokens(path);
    const kept = file.tokens.filter((t) => t.name !== name);
    if (kept.length === file.tokens.length) return false;
    writeFileAtomic(path, JSON.stringify({ tokens: kept }, null, 2) + '\n');
    return true;
  });
}

/**
 * Answers "whose token is this?" for a running gateway. The file's stamp is checked on every
 * request and the file watched, so `token add`/`rm` apply at once, without a restart. A name
 * whose token is gone (removed, or replaced by a new one) is reported to `onRevoked` once.
 */
export class TokenVerifier {
  private entries: Array<{ name: string; hash: Buffer }> = [];
  private version: string | null = null;

  constructor(
    private readonly path: string,
    private readonly onRevoked: (name: string) => void = () => {},
  ) {
    this.refresh();
  }

  /** Re-reads the file if it changed (throws if it cannot be read or parsed). */
  private refresh(): void {
    const version = fileStamp(this.path);
    if (version === this.version) return;
    const entries = readTokens(this.path).tokens.map((t) => ({
      name: t.name,
      hash: Buffer.from(t.hash, 'hex'),
    }));
    const before = this.entries;
    this.version = version;
    this.entries = entries;
    for (const old of before)
      if (!entries.some((e) => e.name === old.name && e.hash.equals(old.hash))) this.onRevoked(old.name);
  }

  /** Re-read the file, keeping the tokens last read when it is broken (a restart reports it). */
  private refreshOrKeep(): void {
    try {
      this.refresh();
    } catch {
      // A file broken while serving: keep the tokens last read.
    }
  }

  /**
   * Notices a `token rm` when it happens, not at the token's next request: what the token
   * opened is ended then. The directory is watched: the file is replaced by a rename.
   */
  watch(onError: (message: string) => void): () => void {
    const name = basename(this.path);
    let watcher: FSWatcher;
    try {
      watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) this.refreshOrKeep();
      });
    } catch (err) {
      onError(
        `cannot watch ${this.path}: ${(err as Error).message}; a revoked token's open streams stay open until its next request`,
      );
      return () => undefined;
    }
    watcher.on('error', (err) => onError(`stopped watching ${this.path}: ${err.message}`));
    return () => watcher.close();
  }

  get count(): number {
    return this.entries.length;
  }

  /** The token's name, or null. Every stored hash is compared, each in constant time. */
  verify(token: string): string | null {
    this.refreshOrKeep();
    const h = hashOf(token);
    let found: string | null = null;
    for (const e of this.entries) if (timingSafeEqual(h, e.hash) && found === null) found = e.name;
    return found;
  }
}
