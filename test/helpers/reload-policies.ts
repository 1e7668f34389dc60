/** The two policies the live-reload tests switch between (gov mcp wrap and gov run). */

/** Denies the shell; holds an echo of "hold". */
export const RELOAD_V1 = `version: 1
default: allow
rules:
  - id: no-shell
    tool: shell_exec
    decision: deny
  - id: hold-echo
    tool: echo
    when: args.text == "hold"
    decision: approve
`;

/** Shell allowed; the echo that V1 holds is denied. */
export const RELOAD_V2 = `version: 1
default: allow
rules:
  - id: no-echo
    tool: echo
    when: args.text == "hold"
    decision: deny
`;
