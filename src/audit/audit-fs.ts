import * as fs from 'node:fs';

/**
 * The file system calls the sink makes, injectable so tests can simulate a full disk or
 * an I/O error at exactly one step.
 */
export interface AuditFs {
  /** Create the directory (and parents) owner-only, tightening an existing one. */
  mkdir(path: string, mode: number): Promise<void>;
  open(path: string, flags: string, mode: number): Promise<number>;
  /** One write(2) at the end of the file; resolves to the bytes written. */
  write(fd: number, data: Uint8Array): Promise<number>;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, len: number): Promise<void>;
  close(fd: number): Promise<void>;
}

const p =
  <A extends unknown[], R>(
    fn: (...args: [...A, (err: NodeJS.ErrnoException | null, r: R) => void]) => void,
  ) =>
  (...args: A): Promise<R> =>
    new Promise((resolve, reject) => fn(...args, (err, r) => (err ? reject(err) : resolve(r))));

export const nodeAuditFs: AuditFs = {
  async mkdir(path, mode) {
    await fs.promises.mkdir(path, { recursive: true, mode });
    const st = await fs.promises.stat(path);
    if (!st.isDirectory()) throw Object.assign(new Error(`${path} is not a directory`), { code: 'ENOTDIR' });
    if ((st.mode & 0o077) !== 0) await fs.promises.chmod(path, mode);
  },
  open: (path, flags, mode) => p<[string, string, number], number>(fs.open)(path, flags, mode),
  // A small append to a local file is a fast syscall; doing it in place saves the thread-pool
  // round trip on every call's critical path. fsync (milliseconds) stays off the event loop.
  write: (fd, data) => new Promise((resolve) => resolve(fs.writeSync(fd, data))),
  fsync: (fd) => p<[number], void>(fs.fsync)(fd),
  ftruncate: (fd, len) => p<[number, number], void>(fs.ftruncate)(fd, len),
  close: (fd) => p<[number], void>(fs.close)(fd),
};
