import type { Logger } from '../log.js';

/** `--log-format json`: one JSON object per line on stderr ({ts, level, msg}). */
export function createJsonLogger(write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const debugOn = process.env['GOV_DEBUG'] === '1';
  const line = (level: string, msg: string) =>
    write(JSON.stringify({ ts: new Date().toISOString(), level, msg }) + '\n');
  return {
    debug: (m) => {
      if (debugOn) line('debug', m);
    },
    info: (m) => line('info', m),
    warn: (m) => line('warn', m),
  };
}
