/**
 * Revoking a principal while gov serve runs (`gov serve token rm NAME`): everything it opened
 * ends at once, not only its next request. Its held calls are denied (approver `revoked`),
 * its approvals for the run forgotten, its sessions and SSE replay buffers dropped (their
 * upstream streams closed), and its requests in flight and open streams cut.
 */
import type { ServerResponse } from 'node:http';
import type { ApprovalBroker } from '../approvals/broker.js';
import type { SessionTable } from './sessions.js';
import type { SseReplay } from './sse-replay.js';

export interface RevocationDeps {
  broker: Pick<ApprovalBroker, 'list' | 'settle' | 'forgetAlwaysOf'>;
  sessions: Pick<SessionTable, 'endAllOf'>;
  replay: Pick<SseReplay, 'stopAllOf'>;
  /** Told of each revocation and what it ended (for the log and the audit). */
  onRevoked(r: { principal: string; held: number; cut: number }): void;
}

export class Revocations {
  /** Each principal's requests whose responses have not finished (streams included). */
  private readonly open = new Map<string, Set<ServerResponse>>();

  constructor(private readonly deps: RevocationDeps) {}

  /** An admitted request of `principal`: cut if the principal is revoked before it finishes. */
  track(principal: string, res: ServerResponse): void {
    let mine = this.open.get(principal);
    if (mine === undefined) this.open.set(principal, (mine = new Set()));
    mine.add(res);
    res.once('close', () => {
      mine.delete(res);
      if (mine.size === 0 && this.open.get(principal) === mine) this.open.delete(principal);
    });
  }

  revoke(principal: string): void {
    const { broker, sessions, replay } = this.deps;
    const reason = `the credential of ${principal} was revoked while the call was held`;
    // Denied before the connections close: a client that left would withdraw it instead.
    let held = 0;
    for (const call of broker.list())
      if (
        call.principal === principal &&
        broker.settle(call.id, { approved: false, approver: 'revoked', reason })
      )
        held++;
    broker.forgetAlwaysOf(principal);
    sessions.endAllOf(principal);
    // Dropped before the clients are cut, so their upstream streams close rather than wait
    // in the buffer for a resume that the revoked credential could never make.
    replay.stopAllOf(principal);
    const mine = [...(this.open.get(principal) ?? [])];
    this.open.delete(principal);
    for (const res of mine) res.destroy();
    this.deps.onRevoked({ principal, held, cut: mine.length });
  }
}
