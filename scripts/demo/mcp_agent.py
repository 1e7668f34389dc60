#!/usr/bin/env python3
"""A tiny MCP agent using only the Python standard library.

It knows nothing about gov: it speaks MCP (Streamable HTTP) to the server URL it is given,
through whatever HTTP(S) proxy the environment names. Run it under `gov run` to govern it.
"""
import json
import os
import sys
import urllib.error
import urllib.request

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MCP_URL", "https://127.0.0.1:8443/mcp")
TOKEN = os.environ.get("DEMO_TOKEN", "")
session = None
next_id = 0


def rpc(method, params=None, notify=False):
    global session, next_id
    msg = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    if not notify:
        next_id += 1
        msg["id"] = next_id
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if session:
        headers["mcp-session-id"] = session
    if TOKEN:
        headers["authorization"] = "Bearer " + TOKEN
    req = urllib.request.Request(URL, data=json.dumps(msg).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            session = r.headers.get("mcp-session-id") or session
            body = r.read().decode()
    except urllib.error.HTTPError as e:
        body = e.read().decode()
    return json.loads(body) if body.strip() else None


def call(tool, args=None):
    r = rpc("tools/call", {"name": tool, "arguments": args or {}})
    if "error" in r:
        print(f"  {tool}: ERROR {r['error']['code']} {r['error']['message']}")
    else:
        print(f"  {tool}: {r['result']['content'][0]['text']}")


init = rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "mcp_agent.py", "version": "1.0"}})
print("agent: connected to", init["result"]["serverInfo"]["name"])
rpc("notifications/initialized", notify=True)
tools = [t["name"] for t in rpc("tools/list")["result"]["tools"]]
print("agent: tools visible to me:", ", ".join(tools))
print("agent: my DEMO_TOKEN is", (TOKEN[:12] + "…") if TOKEN else "(unset)")
call("get_weather", {"city": "Lisbon"})
call("whoami")
call("read_config")
call("refund", {"amount": 250})
call("refund", {"amount": 5000})
call("shell_exec", {"cmd": "cat /etc/passwd"})
