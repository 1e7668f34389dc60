import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { readPins } from '../../src/safety/pins-store.js';

/** Runs the built store (`npm test` builds first) in separate processes, as gov and `gov pins` do. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const store = pathToFileURL(join(root, 'dist', 'src', 'safety', 'pins-store.js')).href;

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writer(path: string, name: string, n: number): Promise<number | null> {
  const script = `import { updatePins } from ${JSON.stringify(store)};
for (let i = 0; i < ${n}; i++)
  updatePins(process.argv[1], (f) => {
    f.servers['${name}-' + i] = { url: 'http://x', tools: {}, changed: {} };
    return true;
  });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, path], { stdio: 'inherit' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((done) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      done(code);
    }),
  );
}

it('concurrent writers in different processes lose no update', async () => {
  dir = mkdtempSync(join(tmpdir(), 'gov-pins-lock-'));
  const path = join(dir, 'pins.json');
  const codes = await Promise.all([writer(path, 'a', 40), writer(path, 'b', 40), writer(path, 'c', 40)]);
  expect(codes).toEqual([0, 0, 0]);
  expect(Object.keys(readPins(path).servers)).toHaveLength(120);
}, 90_000);
