/**
 * The built-in policy, used when no gov.yaml is found (SPEC §4): every call that reads data
 * or acts (tools/call, resources/read, prompts/get, …) needs a human's approval; discovery
 * (initialize, ping, the list methods, notifications) is allowed; no server registry. Kept as YAML text so
 * its digest is that of a canonical source, like any policy file.
 */
export const BUILTIN_POLICY_SOURCE = '(built-in default)';

export const BUILTIN_POLICY_TEXT = `# gov built-in default policy (no gov.yaml found)
version: 1
default: approve
tools_list: hide_denied
deny_as: error
`;
