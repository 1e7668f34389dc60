import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/safety/redact.js';
import { createStreamRedactor } from '../../src/safety/stream.js';

const GH = 'ghp' + '_' + 'aB3dE5fG7hJ9kL2mN4pQ6rS8tU1vW0xYzaB3d';
const VAULT = 'my-vault-value-0123456789';
const redactor = createRedactor({ vaultValues: new Map([['v', VAULT]]), secrets: true, vault: true });

function streamed(text: string, chunkSize: number, holdBack?: number) {
  const s = createStreamRedactor(redactor, holdBack === undefined ? {} : { holdBack });
  let out = '';
  for (let i = 0; i < text.length; i += chunkSize) out += s.push(text.slice(i, i + chunkSize));
  out += s.flush();
  return { out, counts: s.counts };
}

describe('stream redactor', () => {
  const text = `start ${'lorem ipsum '.repeat(40)} token=${GH} middle ${'dolor '.repeat(30)} v=${VAULT} and base64 ${Buffer.from(VAULT).toString('base64')} end`;
  const whole = redactor.redactString(text);

  it('gives the same output as redacting the whole text, whatever the chunk size', () => {
    for (const size of [1, 2, 3, 7, 16, 50, 64, 100, 1000, 10_000]) {
      for (const hold of [undefined, 64]) {
        const { out, counts } = streamed(text, size, hold);
        expect(out).toBe(whole.text);
        expect(counts).toEqual(whole.counts);
        expect(out).not.toContain(GH.slice(4, 20));
        expect(out).not.toContain(VAULT);
      }
    }
  });

  it('holds a match that reaches the end of what has arrived', () => {
    const s = createStreamRedactor(redactor, { holdBack: 8 });
    const first = s.push('x'.repeat(100) + ' ' + GH);
    expect(first).not.toContain('ghp_');
    const rest = s.push('MORE tail ' + 'y'.repeat(50)) + s.flush();
    expect(first + rest).toContain('[REDACTED:github-token]');
    expect(first + rest).not.toContain('MORE');
  });

  it('emits ordinary text promptly except for the hold-back tail', () => {
    const s = createStreamRedactor(redactor, { holdBack: 32 });
    const out = s.push('a'.repeat(1000));
    expect(out.length).toBe(1000 - 32);
    expect(s.flush()).toBe('a'.repeat(32));
  });
});
