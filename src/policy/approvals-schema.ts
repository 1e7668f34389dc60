/**
 * The `approvals:` section of gov.yaml: where a held call may be answered, who is told about
 * it, and what happens when nobody can answer.
 */
import { z } from 'zod';

export type ApprovalChannel = 'tui' | 'cli' | 'elicitation';

export interface NotifyHookSpec {
  url: string;
  /** Header values are literal text or `{secret: name}` (a vault entry). */
  headers: Record<string, string | { secret: string }>;
}

export interface ApprovalsSpec {
  channels: ApprovalChannel[];
  notify: NotifyHookSpec[];
  /** `deny`: a held call with no live channel is denied at once instead of waiting. */
  whenUnattended: 'wait' | 'deny';
}

export const APPROVALS_KEYS = ['channels', 'notify', 'when_unattended'];

const nonEmpty = z.string().min(1);

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

const notifyHook = z
  .object({
    url: z
      .string()
      .url({ message: 'expected an http(s) URL, e.g. https://hooks.example/gov' })
      .refine((u) => /^https?:$/i.test(new URL(u).protocol), {
        message: 'expected an http(s) URL, e.g. https://hooks.example/gov',
      }),
    headers: z.record(nonEmpty, z.union([z.string(), z.object({ secret: nonEmpty }).strict()])).default({}),
  })
  .strict()
  // A vault value goes to a hook only encrypted, or to this machine.
  .refine(
    (h) => {
      const u = new URL(h.url);
      const secret = Object.values(h.headers).some((v) => typeof v !== 'string');
      return !secret || u.protocol === 'https:' || LOOPBACK.test(u.hostname);
    },
    {
      message: 'a header taken from the vault ({secret: …}) needs an https:// URL (or a loopback one)',
      path: ['url'],
    },
  );

export const approvalsSchema = z
  .object({
    channels: z.array(z.enum(['tui', 'cli', 'elicitation'])).default(['tui', 'cli']),
    notify: z.array(notifyHook).default([]),
    when_unattended: z.enum(['wait', 'deny']).default('wait'),
  })
  .strict()
  .default({})
  .transform((a): ApprovalsSpec => ({
    channels: [...new Set(a.channels)],
    notify: a.notify,
    whenUnattended: a.when_unattended,
  }));
