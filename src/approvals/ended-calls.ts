import type { EndedCall } from '../types.js';

/**
 * What an approver is told about a call that is no longer held: why it ended when gov still
 * remembers it (the client gave up or was revoked, the approval timed out), else that it is
 * unknown.
 */
export function notPendingText(id: string, ended: EndedCall | undefined): string {
  if (!ended) return `no held call '${id}' (unknown or no longer pending)`;
  const what = ended.ended_by === 'timeout' ? 'timed out' : 'was withdrawn';
  return `held call '${id}' (${ended.tool}) ${what}: ${ended.reason}`;
}

/** The note an approver sees when a held call ends without an answer; null for other verdicts. */
export function withdrawnNote(
  call: { id: string; tool?: string | undefined },
  verdict: { approver: string; reason?: string | undefined },
): string | null {
  if (!['cancelled', 'timeout', 'revoked'].includes(verdict.approver)) return null;
  const what = verdict.approver === 'timeout' ? 'timed out' : 'withdrawn';
  const tool = call.tool !== undefined ? ` ${call.tool}` : '';
  return `${call.id}${tool} ${what}: ${verdict.reason ?? 'no reason given'}`;
}

/** The approver's note for a remembered ended call. */
export function endedNote(e: EndedCall): string {
  const approver = e.ended_by === 'timeout' ? 'timeout' : 'cancelled';
  return withdrawnNote({ id: e.id, tool: e.tool }, { approver, reason: e.reason })!;
}
