import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A path inside gov's installation (the directory of its package.json). This code runs from
 * tsc's tree (dist/src/) and from the start-up bundle (dist/bundle/), so files gov hands to
 * other processes (the child's preload, the sandbox's init) are found from the root, not from
 * this module's own location.
 */
export function installPath(...parts: string[]): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`gov: cannot find its installation above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return join(dir, ...parts);
}
