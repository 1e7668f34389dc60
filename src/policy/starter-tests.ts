/** The starter gov.test.yaml that `gov init` writes beside gov.yaml; it passes against it. */
export const STARTER_TESTS_TEXT = `# gov.test.yaml: what gov.yaml must decide. Run 'gov policy test' (exit 1 on a failure),
# e.g. in a pre-commit hook. Each case is a call (tool, server, args, method, uri,
# principal, annotations, pinned) and the decision it must get, optionally with the
# rule that must decide it.
cases:
  - name: reads are allowed
    call: {tool: read_file, server: fs, args: {path: README.md}}
    expect: {decision: allow, rule: read-only-tools}

  - name: shell is denied
    call: {tool: shell_exec, args: {command: "rm -rf /"}}
    expect: {decision: deny, rule: no-shell}

  - name: secret files cannot be read
    call: {method: resources/read, uri: "file:///home/me/app/.env"}
    expect: {decision: deny, rule: no-secret-files}

  - name: writes are allowed within bounds
    call: {tool: write_file, args: {path: notes.txt}}
    expect: {decision: allow, rule: bounded-writes}

  - name: a tool that may be destructive needs approval (no annotations means it may be)
    call: {tool: send_email, args: {to: someone@example.com}}
    expect: {decision: approve, rule: destructive-tools}

  - name: a pinned read-only tool is allowed
    call: {tool: lookup, annotations: {readOnlyHint: true, destructiveHint: false}, pinned: true}
    expect: {decision: allow, rule: pinned-read-only}

  - name: an unpinned read-only claim is not believed
    call: {tool: lookup, annotations: {readOnlyHint: true, destructiveHint: false}}
    expect: {decision: approve, rule: default}
`;
