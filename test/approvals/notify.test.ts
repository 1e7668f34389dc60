import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import { startNotifier, type NotifyOutcome } from '../../src/approvals/notify.js';
import { heldCallRequest } from '../helpers/held-call.js';
import { eventually } from '../helpers/until.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A real local hook that answers each POST with the next status (none: never answers). */
async function hook(
  statuses: Array<number | 'none'>,
): Promise<{ url: string; hits: number; open: ServerResponse[] }> {
  const open: ServerResponse[] = [];
  const state = { url: '', hits: 0, open };
  const server: Server = createServer((req, res) => {
    req.resume();
    const status = statuses[state.hits++] ?? 200;
    if (status === 'none') open.push(res);
    else res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook/t0ken`;
  return state;
}

function notifier(url: string, o: { timeoutMs?: number; attempts?: number } = {}) {
  const broker = new ApprovalBroker();
  const outcomes: NotifyOutcome[] = [];
  cleanups.push(
    startNotifier({
      targets: [{ url, headers: {} }],
      broker,
      record: (x) => outcomes.push(x),
      backoffMs: 1,
      ...o,
    }),
  );
  return { broker, outcomes };
}

describe('approvals.notify: retries, timeout, the audited outcome', () => {
  it('a 5xx is retried; the success is recorded with the attempts it took', async () => {
    const h = await hook([503, 200]);
    const n = notifier(h.url);
    void n.broker.request(heldCallRequest());
    const [o] = await eventually('the outcome', () => (n.outcomes.length ? n.outcomes : undefined));
    expect(o).toMatchObject({ ok: true, attempts: 2, http_status: 200, hook: 1 });
    expect(o!.origin).toBe(new URL(h.url).origin);
    expect(JSON.stringify(o)).not.toContain('t0ken');
    expect(h.hits).toBe(2);
  });

  it('a hook that never answers times out on each attempt and is recorded as failed', async () => {
    const h = await hook(['none', 'none']);
    const n = notifier(h.url, { timeoutMs: 200, attempts: 2 });
    void n.broker.request(heldCallRequest());
    const [o] = await eventually('the outcome', () => (n.outcomes.length ? n.outcomes : undefined));
    expect(o).toMatchObject({ ok: false, attempts: 2, error: 'no answer within 200 ms' });
    expect(h.hits).toBe(2);
  });

  it('a 4xx is not retried; a call answered meanwhile gets no more reminders', async () => {
    const h = await hook([404]);
    const n = notifier(h.url);
    void n.broker.request(heldCallRequest());
    const [o] = await eventually('the outcome', () => (n.outcomes.length ? n.outcomes : undefined));
    expect(o).toMatchObject({ ok: false, attempts: 1, http_status: 404, error: 'HTTP 404' });

    // The first attempt is still open when the call is answered; it then fails (503).
    const h2 = await hook(['none', 503, 503]);
    const n2 = notifier(h2.url, { attempts: 3 });
    void n2.broker.request(heldCallRequest());
    const id = n2.broker.list()[0]!.id;
    const [first] = await eventually('the first attempt', () => (h2.open.length ? h2.open : undefined));
    n2.broker.settle(id, { approved: true, approver: 'cli' });
    first!.writeHead(503).end();
    const [o2] = await eventually('the outcome', () => (n2.outcomes.length ? n2.outcomes : undefined));
    expect(o2).toMatchObject({ ok: false, attempts: 1, http_status: 503 });
    expect(h2.hits).toBe(1);
  });
});
