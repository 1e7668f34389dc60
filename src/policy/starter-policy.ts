/** The commented starter gov.yaml that `gov init` writes. It must pass `gov policy check`. */
export const STARTER_POLICY_TEXT = `# gov.yaml: what AI agents may do through MCP. Check it with 'gov policy check';
# try a call with 'gov policy eval --tool NAME [--server NAME|URL] [--args JSON]'.
version: 1

# The server registry: name -> URL pattern(s) ('*' matches any run of characters in the
# path). With a registry, traffic to a server not listed gets 'unknown_servers'.
# Uncomment and adapt:
# servers:
#   github: https://api.githubcopilot.com/mcp/*
#   payments: https://mcp.payments.internal/*
# unknown_servers: deny       # allow | deny | approve (default deny)

# What happens to a call that no rule matches: allow | deny | approve. It governs every
# method that reads data or acts: tools/call, resources/read, prompts/get,
# completion/complete, tasks/*, … Only discovery (initialize, ping, the */list methods and
# notifications) is allowed without a rule.
default: approve

# How long a held call waits for a human before it is denied.
approval_timeout: 120s

# Rules: the first rule that matches decides. A rule matches on
#   server  registry name(s)            tool  glob(s) over the tool (or prompt) name
#   method  default tools/call           uri   glob(s) for resources/read (** crosses /)
#   when    a CEL expression over {args, tool, server, method, run, tool_annotations,
#           tool_pinned}, run being {id, tainted, taint_sources}; if it fails to evaluate
#           (say, a missing argument) the call is denied
# and decides allow | deny | approve, with an optional reason shown to the agent.
rules:
  - id: read-only-tools
    tool: ["get_*", "list_*", "search_*", "read_*"]
    decision: allow

  - id: no-shell
    tool: ["shell*", "exec*", "run_command"]
    decision: deny
    reason: Shell access is not allowed

  - id: no-secret-files
    method: resources/read
    uri: ["file:///**/.env", "file:///**/*.pem", "file:///**/id_rsa*"]
    decision: deny
    reason: Secret files are off limits

  # Session taint: once a server's output carried a secret or a prompt-injection pattern,
  # tools that write or send need a human (the tainted output may be steering the agent).
  - id: tainted-writes
    tool: ["write_*", "send_*", "create_*", "update_*", "delete_*", "post_*", "push_*"]
    when: run.tainted
    decision: approve
    reason: this run read untrusted output; writes and sends need approval

  # A bounded allow: at most 50 calls per run, 10 a minute, 30s upstream timeout.
  - id: bounded-writes
    tool: "write_*"
    decision: allow
    constraints: { max_calls: 50, rate: 10/min, timeout: 30s }

  # Annotations come from the server and are only hints: believe readOnlyHint only while
  # the tool's definition is one you pinned, and hold anything that may be destructive
  # (a tool without annotations may be, says the MCP spec). With 'default: allow' this is
  # what keeps unknown destructive tools in front of a human.
  - id: pinned-read-only
    when: tool_pinned && tool_annotations.readOnlyHint
    decision: allow
  - id: destructive-tools
    when: tool_annotations.destructiveHint
    decision: approve

  # A conditional allow, then a held call with its own approval timeout:
  # - id: small-refunds
  #   server: payments
  #   tool: refund
  #   when: args.amount <= 1000
  #   decision: allow
  # - id: refunds
  #   tool: refund
  #   decision: approve
  #   timeout: 10m

# Credentials from the vault ('gov vault set NAME'), injected as a header for the listed
# hosts, over verified TLS on port 443 unless written host:port. The agent only ever sees a
# placeholder in 'env'. Plain HTTP needs 'scheme: http' and a port on every host;
# 'inject: [header, body]' also replaces the placeholder in request bodies (docs/credentials.md).
credentials: []
#  - secret: github-token
#    hosts: [api.githubcopilot.com]
#    header: Authorization
#    format: "Bearer {secret}"
#    env: GITHUB_TOKEN

output:
  redact: [vault, secrets]     # vault values always; well-known secret formats too

tools_list: hide_denied        # hide tools that are always denied from tools/list (or: show)
deny_as: error                 # error (JSON-RPC -32003) | result (an isError tool result)
passthrough: []                # host globs tunnelled without decryption, e.g. "*.internal:443"
websocket: []                  # host globs that may open a raw WebSocket tunnel (audited, no credentials, not inspected)

# Tool definitions are pinned on first use ($GOV_HOME/pins.json; see 'gov pins list').
# A changed or new tool on a pinned server: deny | approve | allow; a definition that looks
# poisoned (hidden instructions, credential requests): deny | approve | warn.
pins:
  on_change: approve
  on_poison: approve
  changed_tools: mark          # mark the tool in tools/list (or: hide)
  # servers:                   # pins shipped with the policy ('gov pins list --json')
  #   github: { file: pins/github.json }

# Where held calls are answered (docs/approvals.md). 'tui' is the panel of 'gov run', 'cli'
# is 'gov approvals' / 'gov approve'. Adding 'elicitation' asks inside the agent's own MCP
# client (desktop and IDE clients such as VS Code or Claude Desktop show the question to a
# person). Add it only for such clients: a programmatic agent can answer "approve" itself.
approvals:
  channels: [tui, cli]
  # notify: [{url: https://hooks.example/gov, headers: {Authorization: {secret: hook-token}}}]
  when_unattended: wait        # or deny: nobody attached to answer means deny at once, not at the timeout
`;
