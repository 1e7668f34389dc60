/**
 * A `when` that compares an argument with a literal, against a server that coerces argument
 * types the way Python MCP servers do (FastMCP validates tool arguments with a pydantic model
 * in lax mode: `"true"`, `"yes"`, `1` are `True` for a `bool`; `"13"` is `13` for an `int`).
 * CEL's equality between different types is simply false, so `args.force == true` does not
 * match `{"force":"true"}` and a deny rule let the call through while the server executed a
 * forced transfer. gov now treats a comparison of values of different types as an error,
 * which denies the call (fail closed). The server's own log is the evidence.
 * Needs python3 with pydantic (skipped otherwise).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { tempHome } from '../helpers/gov-process.js';
import { openTunnel, readUntilClose, startLiveRun, type LiveRun } from '../helpers/raw-proxy-client.js';

/** A Python with pydantic (v1 or v2): Debian's (CI installs python3-pydantic) or the one on PATH. */
function pythonWithPydantic(): string | undefined {
  return ['/usr/bin/python3', 'python3'].find((py) => {
    try {
      execFileSync(py, ['-c', 'import pydantic'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}
const PYTHON = pythonWithPydantic();

// A JSON endpoint whose tool arguments are validated the way FastMCP does it: a pydantic model.
const PY_SERVER = String.raw`
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pydantic import BaseModel

class TransferArgs(BaseModel):
    amount: int
    account: int
    force: bool = False

log = open(sys.argv[1], 'a', buffering=1)
validate = getattr(TransferArgs, 'model_validate', None) or TransferArgs.parse_obj  # pydantic 2 or 1

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        msg = json.loads(self.rfile.read(int(self.headers.get('content-length', '0'))))
        text = 'ok'
        if msg.get('method') == 'tools/call' and msg['params']['name'] == 'transfer':
            a = validate(msg['params'].get('arguments', {}))
            log.write(f"EXECUTED transfer amount={a.amount} account={a.account} force={a.force}\n")
            text = f"transferred {a.amount}"
        out = json.dumps({"jsonrpc": "2.0", "id": msg.get('id'),
                          "result": {"content": [{"type": "text", "text": text}]}}).encode()
        self.send_response(200)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)

srv = HTTPServer(('127.0.0.1', 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
`;

const call = (id: number, args: string) =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"transfer","arguments":${args}}}`;

describe.skipIf(PYTHON === undefined)('gov run: an argument of another type than the rule compares', () => {
  let home: string;
  let run: LiveRun;
  let server: ChildProcess;
  let port = 0;
  let execLog = '';
  let dir = '';

  const executed = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8') : '');

  async function post(body: string): Promise<string> {
    const { socket, status } = await openTunnel(run.proxy, '127.0.0.1', port);
    if (!status.includes(' 200 ')) throw new Error(`CONNECT refused: ${status}`);
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    return readUntilClose(socket);
  }

  beforeAll(async () => {
    home = tempHome();
    dir = mkdtempSync(join(tmpdir(), 'gov-lax-server-'));
    writeFileSync(join(dir, 'server.py'), PY_SERVER);
    execLog = join(dir, 'exec.log');
    server = spawn(PYTHON!, [join(dir, 'server.py'), execLog], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
    port = Number(line);

    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
rules:
  - id: closed-accounts
    tool: transfer
    when: args.account in [21, 22]
    decision: deny
  - id: no-forced-transfers
    tool: transfer
    when: has(args.force) && args.force == true
    decision: deny
  - id: frozen-account
    tool: transfer
    when: args.account == 13
    decision: deny
  - id: no-test-account
    tool: transfer
    when: args.account != 7
    decision: allow
  - id: test-account-only-small
    tool: transfer
    when: args.amount <= 10
    decision: allow
  - id: rest
    tool: transfer
    decision: deny
`,
    );
    run = await startLiveRun(['--policy', policy], { GOV_HOME: home });
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('control: typed arguments are decided as written', async () => {
    expect(await post(call(1, '{"amount":5,"account":1}'))).toContain('transferred 5');
    expect(await post(call(2, '{"amount":6,"account":1,"force":true}'))).toContain('-32003');
    expect(await post(call(3, '{"amount":7,"account":13}'))).toContain('-32003');
    expect(await post(call(4, '{"amount":8,"account":1,"force":false}'))).toContain('transferred 8');
    expect(executed()).toContain('amount=5 account=1 force=False');
    expect(executed()).not.toContain('force=True');
    expect(executed()).not.toContain('account=13');
  });

  it('a bool spelled as a string or a number: the server must not execute a forced transfer', async () => {
    for (const [id, force] of [
      [10, '"true"'],
      [11, '"yes"'],
      [12, '1'],
    ] as const) {
      const answer = await post(call(id, `{"amount":${id},"account":1,"force":${force}}`));
      expect(answer).toContain('-32003');
      expect(answer).toContain('cannot compare');
    }
    expect(executed()).not.toContain('force=True');
  });

  it('an int spelled as a string: the frozen account stays frozen', async () => {
    expect(await post(call(20, '{"amount":20,"account":"13"}'))).toContain('-32003');
    expect(executed()).not.toContain('account=13');
  });

  it('a != condition on an allow rule does not let a string slip past a typed comparison', async () => {
    // "7" != 7 would be true (allowed by no-test-account); the server reads account 7.
    expect(await post(call(30, '{"amount":500,"account":"7"}'))).toContain('-32003');
    expect(executed()).not.toContain('account=7');
  });

  it('an int spelled as a string against a list (`in`): the closed accounts stay closed', async () => {
    expect(await post(call(40, '{"amount":4,"account":21}'))).toContain('-32003');
    const answer = await post(call(41, '{"amount":4,"account":"22"}'));
    expect(answer).toContain('-32003');
    expect(answer).toContain('cannot look up a value of type string in a list of number');
    expect(executed()).not.toMatch(/account=2[12]/);
  });
});
