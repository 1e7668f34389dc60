import { describe, expect, it } from 'vitest';
import { CHOOSE, promptKey } from '../../cli/ui/approval-keys.js';
import { LineBuffer } from '../../cli/ui/child-output.js';
import { editLine } from '../../cli/ui/line-edit.js';

describe('editLine', () => {
  it('appends, deletes, submits and splits pasted lines', () => {
    expect(editLine('ab', 'c', {})).toEqual({ text: 'abc', submitted: [] });
    expect(editLine('ab', '', { delete: true })).toEqual({ text: 'a', submitted: [] });
    expect(editLine('ab', '', { return: true })).toEqual({ text: '', submitted: ['ab'] });
    expect(editLine('x', 'one\rtwo\nthr', {})).toEqual({ text: 'thr', submitted: ['xone', 'two'] });
    expect(editLine('ab', 'u', { ctrl: true })).toEqual({ text: '', submitted: [] });
    expect(editLine('', 'a\x1b[31mb\x07', {})).toEqual({ text: 'a[31mb', submitted: [] });
    expect(editLine('abc', 'd', {}, 3).text).toBe('abc');
  });
});

describe('promptKey', () => {
  it('binds a reason prompt to the call it was opened for', () => {
    const s1 = promptKey(CHOOSE, 'h-1', 'd', {});
    expect(s1.state).toEqual({ mode: 'reason', id: 'h-1', text: '' });
    const s2 = promptKey(s1.state, 'h-2', 'x', {});
    const s3 = promptKey(s2.state, 'h-2', '', { return: true });
    expect(s3.settle).toEqual({ id: 'h-1', verdict: { approved: false, approver: 'tui', reason: 'x' } });
    expect(promptKey(s1.state, 'h-1', '', { escape: true })).toEqual({ state: CHOOSE });
    expect(promptKey(CHOOSE, undefined, 'a', {}).settle).toBeUndefined();
  });
});

describe('LineBuffer', () => {
  it('releases whole lines and holds a partial one until flushed', () => {
    const b = new LineBuffer(10);
    expect(b.push('ab')).toBe('');
    expect(b.push('c\nde')).toBe('abc\n');
    expect(b.pending).toBe(true);
    expect(b.flush()).toBe('de\n');
    expect(b.flush()).toBe('');
    expect(b.push('0123456789x')).toBe('0123456789x\n');
  });
});
