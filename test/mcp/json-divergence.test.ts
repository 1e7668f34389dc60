import { describe, expect, it } from 'vitest';
import { parseStrictJsonText } from '../../src/mcp/json-strict.js';
import { classifyBody } from '../../src/mcp/classify.js';

/**
 * What gov reads from a body and what a server reads from the same bytes must agree, or the
 * body is refused: the strict parser's fast path and its validating scan give one answer, and
 * argument keys a case-insensitive decoder (Go's encoding/json) merges are refused.
 */
describe('strict JSON: the fast path agrees with the validating scan', () => {
  // 1e-401 written without an exponent: JSON.parse reads 0, a decimal-aware parser reads a
  // positive number. The scan refuses it (as it refuses `1e-401`); the fast path, taken by
  // any text without a backslash, accepted it as 0.
  const tiny = `0.${'0'.repeat(400)}1`;

  it('a decimal that underflows to 0 is refused with or without a backslash elsewhere', () => {
    const slow = parseStrictJsonText(`{"a":${tiny},"b":"\\/"}`);
    expect(slow.ok).toBe(false);
    const fast = parseStrictJsonText(`{"a":${tiny},"b":"/"}`);
    expect(fast).toMatchObject({ ok: false });
  });

  it('a tools/call whose argument underflows is malformed, not a call with amount 0', () => {
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"refund","arguments":{"amount":${tiny}}}}`;
    expect(classifyBody(Buffer.from(body)).kind).toBe('malformed');
  });
});

describe('classify: argument keys a case-insensitive decoder would merge', () => {
  // Go's encoding/json (and System.Text.Json with the Web defaults) match struct fields
  // case-insensitively, the last matching key winning: the server reads amount 50000 while
  // policy (`when: args.amount <= 1000`) reads 5. gov already refuses such collisions among
  // the members of `params`; the arguments policy reads are no different.
  const call = (args: string) =>
    Buffer.from(
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"refund","arguments":${args}}}`,
    );

  it.each([
    ['upper case', '{"amount":5,"AMOUNT":50000}'],
    ['mixed case', '{"amount":5,"Amount":50000}'],
    ['Kelvin sign for k', '{"bank":"mine","banK":"theirs"}'],
    ['long s for s', '{"dest":"mine","deſt":"theirs"}'],
    ['nested', '{"order":{"amount":5,"AMOUNT":50000}}'],
  ])('%s', (_label, args) => {
    expect(classifyBody(call(args)).kind).toBe('malformed');
  });

  it('distinct keys stay fine', () => {
    expect(classifyBody(call('{"amount":5,"amounts":[1]}')).kind).toBe('mcp');
  });
});
