import { describe, expect, it } from 'vitest';
import { explainRule, orList } from '../../src/policy/explain.js';
import type { RuleSpec } from '../../src/policy/schema.js';
import { policy } from './helpers.js';

const rule = (r: Partial<RuleSpec>): RuleSpec => ({
  id: 'r',
  method: ['tools/call'],
  decision: 'deny',
  ...r,
});

describe('rules explain themselves in words', () => {
  it('describes tools, servers and conditions', () => {
    expect(explainRule(rule({ tool: ['shell*'] }))).toBe(
      'tools/call of a tool matching shell* on any server',
    );
    expect(explainRule(rule({ tool: ['refund'], server: ['payments'] }))).toBe(
      'tools/call of tool refund on server payments',
    );
    expect(explainRule(rule({ tool: ['get_*', 'list_*', 'search_*'], server: ['a', 'b'] }))).toBe(
      'tools/call of a tool matching get_*, list_* or search_* on server a or b',
    );
    expect(explainRule(rule({ tool: ['refund'], when: 'args.amount <= 1000' }))).toBe(
      'tools/call of tool refund on any server when args.amount <= 1000',
    );
    expect(explainRule(rule({ when: '  args.a\n  && args.b ' }))).toBe(
      'tools/call of any tool on any server when args.a && args.b',
    );
  });

  it('describes resources, prompts and other methods', () => {
    expect(explainRule(rule({ method: ['resources/read'], uri: ['file:///**/.env'] }))).toBe(
      'resources/read of a resource matching file:///**/.env on any server',
    );
    expect(explainRule(rule({ method: ['prompts/get'], tool: ['plan'] }))).toBe(
      'prompts/get of prompt plan on any server',
    );
    expect(explainRule(rule({ method: ['tools/call', 'prompts/get'], tool: ['x*'] }))).toBe(
      'tools/call or prompts/get of a tool or prompt matching x* on any server',
    );
    expect(explainRule(rule({ method: ['tools/list'], server: ['gh'] }))).toBe('tools/list on server gh');
    expect(explainRule(rule({ method: ['*'], server: ['gh'] }))).toBe('any method on server gh');
  });

  it('joins lists the English way', () => {
    expect(orList([])).toBe('');
    expect(orList(['a'])).toBe('a');
    expect(orList(['a', 'b'])).toBe('a or b');
    expect(orList(['a', 'b', 'c'])).toBe('a, b or c');
  });

  it('the explanation is the reason when a rule has none, and describeRules lists both', () => {
    const p = policy(
      'version: 1\nrules:\n  - id: a\n    tool: x\n    decision: deny\n  - id: b\n    tool: y\n    decision: deny\n    reason: nope\n',
    );
    expect(p.describeRules()).toEqual([
      { id: 'a', decision: 'deny', explanation: 'tools/call of tool x on any server' },
      { id: 'b', decision: 'deny', explanation: 'tools/call of tool y on any server', reason: 'nope' },
    ]);
  });
});
