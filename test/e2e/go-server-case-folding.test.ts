/**
 * A `when` condition on arguments against a Go MCP server: Go's encoding/json matches struct
 * fields case-insensitively (with Unicode simple folding: ſ→s, K→k) and the last matching key
 * wins. `{"amount":5,"AMOUNT":50000}` is read by gov's policy as amount 5 and by the server as
 * amount 50000. gov refuses arguments whose keys fold alike (-32600); the server's own log is
 * the evidence that nothing ran. Needs the `go` toolchain (CI installs golang-go).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { tempHome } from '../helpers/gov-process.js';
import { readUntilClose, startLiveRun, tlsThroughProxy, type LiveRun } from '../helpers/raw-proxy-client.js';

function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// A Streamable-HTTP-style JSON endpoint written the way Go MCP tool handlers are: the request
// decoded with encoding/json, the tool's arguments unmarshalled into a typed struct.
const GO_SERVER =
  String.raw`
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

type request struct {
	JSONRPC string          ` +
  '`json:"jsonrpc"`' +
  String.raw`
	ID      json.RawMessage ` +
  '`json:"id"`' +
  String.raw`
	Method  string          ` +
  '`json:"method"`' +
  String.raw`
	Result  json.RawMessage ` +
  '`json:"result"`' +
  String.raw`
	Params  struct {
		Name      string          ` +
  '`json:"name"`' +
  String.raw`
		Arguments json.RawMessage ` +
  '`json:"arguments"`' +
  String.raw`
	} ` +
  '`json:"params"`' +
  String.raw`
}

type refundArgs struct {
	Amount float64 ` +
  '`json:"amount"`' +
  String.raw`
	Dest   string  ` +
  '`json:"dest"`' +
  String.raw`
}

func main() {
	logf, _ := os.OpenFile(os.Args[3], os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	http.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req request
		if err := json.Unmarshal(body, &req); err != nil {
			w.WriteHeader(400)
			return
		}
		// A client's answer to a server request: taken whether or not it says jsonrpc 2.0.
		if req.Method == "" && len(req.Result) > 0 {
			fmt.Fprintf(logf, "ANSWER id=%s result=%s\n", req.ID, req.Result)
			w.WriteHeader(202)
			return
		}
		text := "ok"
		if req.Method == "tools/call" && req.Params.Name == "refund" {
			var a refundArgs
			if err := json.Unmarshal(req.Params.Arguments, &a); err != nil {
				w.WriteHeader(400)
				return
			}
			fmt.Fprintf(logf, "EXECUTED refund amount=%v dest=%s\n", a.Amount, a.Dest)
			text = fmt.Sprintf("refunded %v to %s", a.Amount, a.Dest)
		}
		w.Header().Set("content-type", "application/json")
		fmt.Fprintf(w, ` +
  '`{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":%q}]}}`' +
  String.raw`, req.ID, text)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	panic(http.ServeTLS(ln, nil, os.Args[1], os.Args[2]))
}
`;

const call = (id: number, args: string) =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"refund","arguments":${args}}}`;

describe.skipIf(!hasGo())('gov run: argument keys that a Go server folds together are refused', () => {
  let pki: TestPki;
  let home: string;
  let run: LiveRun;
  let govCa: string;
  let server: ChildProcess;
  let port = 0;
  let execLog = '';
  let dir = '';

  const executed = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8') : '');

  async function post(body: string): Promise<string> {
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', port, govCa);
    t.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    return readUntilClose(t);
  }

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    dir = mkdtempSync(join(tmpdir(), 'gov-go-server-'));
    writeFileSync(join(dir, 'main.go'), GO_SERVER);
    writeFileSync(join(dir, 'cert.pem'), pki.certPem);
    writeFileSync(join(dir, 'key.pem'), pki.keyPem);
    execLog = join(dir, 'exec.log');
    execFileSync('go', ['build', '-o', join(dir, 'server'), join(dir, 'main.go')], {
      cwd: dir,
      env: { ...process.env, GOTOOLCHAIN: 'local', GO111MODULE: 'off', GOCACHE: join(dir, 'cache') },
      stdio: 'ignore',
    });
    server = spawn(join(dir, 'server'), [join(dir, 'cert.pem'), join(dir, 'key.pem'), execLog], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
    port = Number(line);

    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: deny
rules:
  - id: small-refunds
    tool: refund
    when: args.amount <= 1000 && (!has(args.dest) || args.dest == "customer")
    decision: allow
`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], { GOV_HOME: home });
    govCa = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
  }, 120_000);

  afterAll(async () => {
    await run?.stop();
    server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('control: a small refund runs, a large one is denied and never reaches the server', async () => {
    expect(await post(call(1, '{"amount":5}'))).toContain('refunded 5');
    const big = await post(call(2, '{"amount":50000}'));
    expect(big).toContain('-32003');
    expect(executed()).toContain('amount=5 ');
    expect(executed()).not.toContain('50000');
  });

  it('a case variant of a key the rule reads: the server must not execute amount 50000', async () => {
    expect(await post(call(3, '{"amount":5,"AMOUNT":50000}'))).toContain('case-insensitive decoder');
    expect(await post(call(4, '{"amount":5,"Amount":50000}'))).toContain('-32600');
    expect(executed()).not.toContain('amount=50000');
  });

  it('a Unicode-folded variant (long s) of a key the rule reads: the money stays with the customer', async () => {
    expect(await post(call(5, '{"amount":5,"dest":"customer","deſt":"attacker"}'))).toContain('-32600');
    expect(executed()).not.toContain('dest=attacker');
  });

  it('one key in another case, alone, where the rule only asks has(): denied by the rule that reads it', async () => {
    // Without the exact key, `!has(args.dest)` is true, while the Go server reads DEST as dest.
    const upper = await post(call(6, '{"amount":5,"DEST":"attacker"}'));
    expect(upper).toContain('-32003');
    expect(upper).toContain('case-insensitive server');
    expect(await post(call(7, '{"amount":5,"deſt":"attacker"}'))).toContain('-32003');
    expect(await post(call(8, '{"AMOUNT":50000}'))).toContain('-32003');
    expect(executed()).not.toContain('attacker');
    expect(executed()).not.toContain('amount=50000');
  });

  it('an answer to a server request without "jsonrpc" (which this server takes) is refused', async () => {
    // gov relayed no server request, so no answer may reach the server, however it is spelled.
    expect(await post('{"id":0,"result":{"action":"accept","content":{"forged":1}}}')).toContain('-32600');
    expect(await post('{"ID":1,"Result":{"action":"accept"}}')).toContain('-32600');
    expect(await post('[{"id":2,"result":{"action":"accept"}}]')).toContain('-32600');
    expect(executed()).not.toContain('ANSWER');
  });
});
