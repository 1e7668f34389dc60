/** Words for the errno codes an audit write can hit, so a denial reason says what went wrong. */
const WORDS: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'I/O error',
  ENOTDIR: 'a path component is not a directory',
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  EISDIR: 'is a directory',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EBADF: 'file is closed',
  EFBIG: 'file too large',
};

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "disk full (ENOSPC)" — or the error's own message when the code is unknown. */
export function describeIoError(err: unknown): string {
  const code = errnoCode(err);
  if (code !== undefined && WORDS[code] !== undefined) return `${WORDS[code]} (${code})`;
  if (code !== undefined) return code;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
