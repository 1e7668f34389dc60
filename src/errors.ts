/**
 * Local errors carry a string code and the exit code the CLI should use; wire errors
 * (JSON-RPC) are built by src/mcp. `hint` is the "how to fix" half of `gov: <what> — <how>`.
 */
export type GovErrorCode =
  | 'usage'
  | 'config'
  | 'policy'
  | 'vault'
  | 'keyring'
  | 'audit'
  | 'approvals'
  | 'proxy'
  | 'spawn'
  | 'io'
  | 'not-found'
  | 'internal';

export class GovError extends Error {
  readonly code: GovErrorCode;
  readonly exitCode: 1 | 2;
  readonly hint: string | undefined;

  constructor(
    code: GovErrorCode,
    message: string,
    opts: { hint?: string; exitCode?: 1 | 2; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GovError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? (code === 'usage' || code === 'config' || code === 'policy' ? 2 : 1);
  }
}

export function usageError(message: string, hint?: string): GovError {
  return new GovError('usage', message, hint === undefined ? {} : { hint });
}

/** One line, never a stack trace (unless GOV_DEBUG=1, handled by cli/main.ts). */
export function formatError(err: unknown): string {
  if (err instanceof GovError) return `gov: ${err.message}${err.hint ? ` — ${err.hint}` : ''}`;
  const msg = err instanceof Error ? err.message : String(err);
  return `gov: ${msg.split('\n')[0]} — rerun with GOV_DEBUG=1 for details`;
}
