import { stripUnsafe } from './terminal-text.js';

/**
 * gov's own diagnostics: stderr only, one line each; debug lines only with GOV_DEBUG=1. A
 * message may quote what a peer sent (a collector's status line, a server's error): it is
 * made inert for the terminal first.
 */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export function createLogger(opts: { quiet?: boolean; write?: (line: string) => void } = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const debugOn = process.env['GOV_DEBUG'] === '1';
  const line = (m: string) => stripUnsafe(m, { keepNewlines: true });
  return {
    debug: (m) => {
      if (debugOn) write(`gov[debug]: ${line(m)}\n`);
    },
    info: (m) => {
      if (!opts.quiet) write(`gov: ${line(m)}\n`);
    },
    warn: (m) => write(`gov: warning: ${line(m)}\n`),
  };
}
