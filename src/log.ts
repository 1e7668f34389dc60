/** gov's own diagnostics: stderr only, one line each; debug lines only with GOV_DEBUG=1. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export function createLogger(opts: { quiet?: boolean; write?: (line: string) => void } = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const debugOn = process.env['GOV_DEBUG'] === '1';
  return {
    debug: (m) => {
      if (debugOn) write(`gov[debug]: ${m}\n`);
    },
    info: (m) => {
      if (!opts.quiet) write(`gov: ${m}\n`);
    },
    warn: (m) => write(`gov: warning: ${m}\n`),
  };
}
