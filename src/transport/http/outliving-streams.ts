import type { ServerResponse } from 'node:http';

/**
 * SSE streams that outlive their client. `gov serve` keeps the events of the streams it
 * relays for `Last-Event-ID` replay (src/gateway/sse-replay.ts), and the MCP spec asks that a
 * dropped connection not cancel the request: such a stream keeps reading its upstream into
 * the replay buffer when its client goes away, instead of aborting it as `gov run` does.
 *
 * `adopt` is told how to stop the stream later (when nobody resumed it in time) and answers
 * whether it takes the stream over; while it does, writes to the response are the buffer's.
 */
type Adopt = (stop: () => void) => boolean;

const outliving = new WeakMap<ServerResponse, Adopt>();

export function outliveClient(res: ServerResponse, adopt: Adopt): void {
  outliving.set(res, adopt);
}

/** The client left: true when the stream goes on without it (do not abort the upstream). */
export function streamOutlivesClient(res: ServerResponse, stop?: () => void): boolean {
  const adopt = outliving.get(res);
  if (!adopt) return false;
  return stop ? adopt(stop) : true;
}
