/** What gov sends the in-sandbox init at once: what it can build while gov starts up. */
export interface SandboxLayout {
  /** Absolute paths of the helper binaries, resolved by gov's preflight. */
  tools: { ip: string; mount: string; unshare: string };
  /** Directories covered by an empty read-only tmpfs, files (sockets) by /dev/null. */
  hideDirs: string[];
  hideFiles: string[];
  /**
   * [source, target]: the sandbox's system trust file over the system trust store. gov fills
   * that file in place (same inode) with the combined bundle before it sends the SandboxRun.
   */
  bindFiles: Array<[string, string]>;
  /**
   * Bound read-only over themselves, with what is mounted below them: gov's installation (its
   * code), so the child cannot change what the next gov run executes outside the sandbox.
   */
  readOnlyDirs: string[];
}

/** What gov sends once its proxy is up: what to run. */
export interface SandboxRun {
  proxySocket: string;
  proxyPort: number;
  /** `gov:<run token>`: the same credential the child already holds in its proxy variables. */
  proxyAuth: string;
  capturePorts: number[];
  /** Also hidden, known only once gov's session is open (the control socket's temp-dir fallback). */
  hideDirs: string[];
  /** Made read-only inside: the policy file gov loaded and reloads when it changes. */
  readOnlyFiles: string[];
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
