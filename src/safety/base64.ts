/**
 * Base64 helpers for finding a known text inside encoded data. Pure (no node:*), so the
 * redactor stays usable anywhere.
 */
const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = STD.slice(0, 62) + '-_';

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** base64 (RFC 4648 §4) or base64url (§5) of bytes. */
export function base64(bytes: Uint8Array, opts: { urlSafe?: boolean; pad?: boolean } = {}): string {
  const a = opts.urlSafe ? URL_SAFE : STD;
  const pad = opts.pad ?? !opts.urlSafe;
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += a[n >> 18]! + a[(n >> 12) & 63]! + a[(n >> 6) & 63]! + a[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += a[n >> 18]! + a[(n >> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += a[n >> 18]! + a[(n >> 12) & 63]! + a[(n >> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

/**
 * The characters of base64(prefix + text + suffix) that depend only on `text`, for each of
 * the three byte alignments `text` can have inside a longer encoded stream. Finding any of
 * them means `text` was base64-encoded into the data, whatever surrounded it. Cores
 * shorter than `minLength` are dropped (too likely to occur by chance).
 */
export function base64Cores(text: string, opts: { urlSafe?: boolean; minLength?: number } = {}): string[] {
  const bytes = utf8(text);
  const min = opts.minLength ?? 8;
  const cores: string[] = [];
  for (let k = 0; k < 3; k++) {
    const padded = new Uint8Array(k + bytes.length);
    padded.set(bytes, k);
    const enc = base64(padded, { urlSafe: opts.urlSafe ?? false, pad: false });
    // The first group mixes in k unknown bytes; a trailing partial group mixes in what follows.
    const core = enc.slice(k === 0 ? 0 : 4, Math.floor(padded.length / 3) * 4);
    if (core.length >= min) cores.push(core);
  }
  return cores;
}
