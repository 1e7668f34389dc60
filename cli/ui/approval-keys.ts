import type { ApprovalVerdict } from '../../src/types.js';
import { editLine, type EditKey } from './line-edit.js';
import { stripUnsafe } from '../../src/terminal-text.js';

/**
 * The approval prompt as a pure state machine: `a` approve once, `A` approve this tool
 * for the rest of the run, `d` deny (then an optional reason, Enter to send, Esc to go
 * back). Approving is refused while the screen has not shown the whole call (the caller
 * says why). A reason prompt is bound to the call it was opened for and stays open when
 * that call goes away meanwhile (times out, is answered elsewhere): the rest of the reason
 * being typed can never land on the next call as keys.
 */
export type PromptState = { mode: 'choose' } | { mode: 'reason'; id: string; text: string };

export interface PromptStep {
  state: PromptState;
  /** Settle `id` with `verdict` (the caller owns the broker or the client). */
  settle?: { id: string; verdict: ApprovalVerdict };
  /** Why the key did nothing, for the approver. */
  refused?: string;
}

export const MAX_REASON_LENGTH = 500;

export const CHOOSE: PromptState = { mode: 'choose' };

export function promptKey(
  state: PromptState,
  heldId: string | undefined,
  input: string,
  key: EditKey,
  approver: 'tui' | 'cli' = 'tui',
  /** Why approving the held call is refused right now (part of it never shown), if it is. */
  approveRefused?: string,
): PromptStep {
  if (state.mode === 'reason') {
    if (key.escape) return { state: CHOOSE };
    const r = editLine(state.text, input, key, MAX_REASON_LENGTH);
    if (r.submitted.length > 0) {
      const reason = stripUnsafe(r.submitted[0] ?? '').trim();
      return {
        state: CHOOSE,
        settle: { id: state.id, verdict: { approved: false, approver, ...(reason ? { reason } : {}) } },
      };
    }
    return { state: { ...state, text: r.text } };
  }
  if (heldId === undefined || key.ctrl || key.meta) return { state };
  if ((input === 'a' || input === 'A') && approveRefused !== undefined)
    return { state, refused: approveRefused };
  switch (input) {
    case 'a':
      return { state, settle: { id: heldId, verdict: { approved: true, approver } } };
    case 'A':
      return { state, settle: { id: heldId, verdict: { approved: true, approver, always: true } } };
    case 'd':
      return { state: { mode: 'reason', id: heldId, text: '' } };
    default:
      return { state };
  }
}
