/** What gov hands the in-sandbox init (as JSON on the init's fd 3). */
export interface SandboxConfig {
  /** Absolute paths of the helper binaries, resolved by gov's preflight. */
  tools: { ip: string; mount: string; unshare: string };
  proxySocket: string;
  proxyPort: number;
  /** `gov:<run token>`: the same credential the child already holds in its proxy variables. */
  proxyAuth: string;
  capturePorts: number[];
  /** Directories covered by an empty read-only tmpfs, files (sockets) by /dev/null. */
  hideDirs: string[];
  hideFiles: string[];
  /** [source, target]: the combined bundle (system roots + gov CA) over the system trust store. */
  bindFiles: Array<[string, string]>;
  /** The user the child runs as, mapped back in a nested user namespace. */
  uid: number;
  gid: number;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** setsid: no controlling terminal of gov's when gov pipes the child's output. */
  newSession: boolean;
}

/** The init's own exit code when it could not build the sandbox (the child never started). */
export const SETUP_FAILED_EXIT = 125;
