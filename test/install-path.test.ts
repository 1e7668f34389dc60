import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { installPath } from '../src/install-path.js';

describe('installPath', () => {
  it("finds gov's installation root, where the preload and package.json live", () => {
    expect(JSON.parse(readFileSync(installPath('package.json'), 'utf8'))).toMatchObject({ name: 'gov' });
    expect(existsSync(installPath('preload', 'node-proxy.cjs'))).toBe(true);
  });
});
