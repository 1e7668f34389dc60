/**
 * Hidden line input on a terminal (no echo), for secret values and vault passphrases.
 * Reads from stdin when it is a TTY, else from /dev/tty (so `echo v | gov vault set X`
 * can still ask for a passphrase); the question goes to stderr, never stdout.
 */
import { openSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { GovError } from '../src/errors.js';

/** A terminal to read from, or null when there is none (no prompt possible). */
export function openTerminalInput(): { input: ReadStream; close: () => void } | null {
  if (process.stdin.isTTY) return { input: process.stdin, close: () => {} };
  try {
    const input = new ReadStream(openSync('/dev/tty', 'r'));
    return { input, close: () => input.destroy() };
  } catch {
    return null;
  }
}

export function promptHidden(
  question: string,
  input: ReadStream,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.setEncoding('utf8');
    output.write(question);
    const finish = (err: Error | null) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new GovError('usage', 'interrupted', { exitCode: 1 }));
        if (ch === '\u0004') {
          if (value === '') return finish(new GovError('usage', 'no input', { exitCode: 1 }));
          return finish(null);
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch === '\u0015') value = '';
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
