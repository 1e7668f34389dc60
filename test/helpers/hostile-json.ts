/**
 * Hostile JSON-RPC messages for fuzzing a running gov: numbers JavaScript cannot hold exactly,
 * deep nesting, lone surrogates, odd ids and odd shapes. Deterministic for a given seed.
 *
 * `answer` says what a governed transport must send back for the message: `'id'` (a response
 * under the message's own `id`), `'some'` (a response whose id gov may have had to null, e.g.
 * when the body cannot be parsed), or `'none'` (a notification).
 */
export interface HostileCase {
  label: string;
  body: Buffer;
  answer: { kind: 'id'; id: string | number } | { kind: 'some' } | { kind: 'none' };
}

/** mulberry32: a small seeded PRNG, so a failing case can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const HOSTILE_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '-0.0',
  '9007199254740993',
  '123456789012345678901234567890',
  '4.9e-324',
  '1.7976931348623157e308',
  '0.1',
  '-1.5e-300',
];

const ODD_IDS = ['{"a":1}', '[]', 'true', 'null', '1.5', '-7', '1e400', '-0', '9007199254740993'];

function nest(depth: number, inner: string): string {
  return '['.repeat(depth) + inner + ']'.repeat(depth);
}

function call(id: string, args: string): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":${args}}}`;
}

/** `count` cases: every fixed case once, then random ones drawn with `seed`. */
export function hostileCases(seed: number, count: number): HostileCase[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let next = 1000;
  const text = (label: string, s: string, answer: HostileCase['answer']): HostileCase => ({
    label,
    body: Buffer.from(s, 'utf8'),
    answer,
  });
  const withId = (label: string, make: (id: number) => string, id: string | number = next++): HostileCase =>
    text(label, make(typeof id === 'number' ? id : 0), { kind: 'id', id });

  const fixed: HostileCase[] = [
    withId('100k-deep arguments', (id) => call(String(id), `{"text":"x","d":${nest(100_000, '1')}}`)),
    withId('escaped lone high surrogate', (id) => call(String(id), '{"text":"a\\ud800b"}')),
    withId('escaped lone low surrogate', (id) => call(String(id), '{"text":"\\udc00"}')),
    withId('surrogate pair', (id) => call(String(id), '{"text":"\\ud83d\\ude00"}')),
    {
      label: 'raw lone surrogate bytes (invalid UTF-8)',
      body: Buffer.concat([
        Buffer.from(call('7001', '{"text":"')),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('"}}}'),
      ]),
      answer: { kind: 'some' },
    },
    withId('huge string id', () => call(`"${'i'.repeat(100_000)}"`, '{"text":"x"}'), 'i'.repeat(100_000)),
    withId('params is an array', (id) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":[1,2]}`),
    withId('method is a number', (id) => `{"jsonrpc":"2.0","id":${id},"method":5}`),
    withId('missing method', (id) => `{"jsonrpc":"2.0","id":${id},"params":{}}`),
    withId(
      'arguments is a string',
      (id) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":"x"}}`,
    ),
    text('empty batch', '[]', { kind: 'some' }),
    text('batch of junk', '[1,"a",null,{}]', { kind: 'some' }),
    text('batch of a call and junk', `[${call('7002', '{"text":"x"}')},42]`, { kind: 'some' }),
    text('batch with an inexact number', `[${call('7003', '{"n":1e400}')}]`, { kind: 'some' }),
    text('not JSON', '{"jsonrpc":"2.0","id":1,', { kind: 'some' }),
    text('an object that is not JSON-RPC', '{"hello":"world"}', { kind: 'some' }),
    text(
      'a notification with an inexact number',
      '{"jsonrpc":"2.0","method":"notifications/x","params":{"n":1e400}}',
      {
        kind: 'some',
      },
    ),
    text('a plain notification', '{"jsonrpc":"2.0","method":"notifications/initialized"}', { kind: 'none' }),
  ];
  for (const n of HOSTILE_NUMBERS)
    fixed.push(withId(`argument ${n}`, (id) => call(String(id), `{"text":"x","n":${n}}`)));
  for (const odd of ODD_IDS) fixed.push(text(`id ${odd}`, call(odd, '{"text":"x"}'), { kind: 'some' }));

  const random: Array<() => HostileCase> = [
    () => withId('random number', (id) => call(String(id), `{"text":"x","n":${pick(HOSTILE_NUMBERS)}}`)),
    () => {
      const depth = 1 + Math.floor(rnd() * 300);
      return withId(`nesting ${depth}`, (id) =>
        call(String(id), `{"text":"x","d":${nest(depth, pick(HOSTILE_NUMBERS))}}`),
      );
    },
    () => text('random odd id', call(pick(ODD_IDS), `{"n":${pick(HOSTILE_NUMBERS)}}`), { kind: 'some' }),
    () => {
      const id = next++;
      const members = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () =>
        pick([call(String(id), '{"text":"x"}'), pick(HOSTILE_NUMBERS), '"junk"', '{}', '[]', 'null']),
      );
      return text('random batch', `[${members.join(',')}]`, { kind: 'some' });
    },
    () => withId('negative id', (id) => call(String(id), '{"text":"x"}'), -next++),
  ];
  const out = fixed.slice(0, count);
  while (out.length < count) out.push(pick(random)());
  return out;
}
