import { GovError, usageError } from '../../src/errors.js';
import { homePaths } from '../../src/home.js';
import { BUILTIN_POLICY_SOURCE } from '../../src/policy/default-policy.js';
import { hypotheticalInput } from '../../src/policy/hypothetical.js';
import { loadPolicy, PolicyLoadError } from '../../src/policy/load.js';
import type { JsonObject } from '../../src/types.js';
import { parseCommandArgs, wantsHelp } from '../args.js';
import { locatePolicy } from './policy-locate.js';
import { policyReplay } from './policy-replay.js';
import { policyTest } from './policy-test.js';

const HELP = `usage: gov policy check [FILE]
       gov policy eval --tool NAME [--server NAME|URL] [--args JSON] [--method M] [--uri URI] [--json]
       gov policy test [TESTFILE...] [--json]
       gov policy replay --policy NEW.yaml [--since DURATION] [--run ID...] [--json]

Subcommands:
  check [FILE]   validate a policy (FILE, else --policy, ./gov.yaml, $GOV_HOME/policy.yaml);
                 prints 'ok: <file>: <n> rules', or every problem as file:line:col (exit 2)
  eval           decide one hypothetical call and print '<decision> (rule <id>): <reason>'
  test           run table-driven policy tests (default: gov.test.yaml beside the policy);
                 prints failing cases with expected and actual; exit 1 if any fails, 2 on
                 a malformed test file (file:line:col)
  replay         re-decide the calls in the audit under --policy NEW.yaml: counts per
                 transition and the calls that would change; --since 24h, --run ID (repeatable)

Options:
  --policy FILE      the policy to use (default: ./gov.yaml, else $GOV_HOME/policy.yaml,
                     else the built-in default)
  --tool NAME        tool (or prompt) name; required for tools/call and prompts/get
  --server NAME|URL  a URL is resolved through the servers registry (an unlisted URL is an
                     unknown server); a name is taken as that server's name
  --args JSON        the call's arguments, a JSON object (default {})
  --method M         the MCP method (default tools/call)
  --uri URI          resource URI, for resources/read
  --run ID           run id visible to 'when' as run (default 'eval')
  --json             print {"decision","rule","reason"}
  -h, --help         show this help
`;

async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('policy check', argv, { policy: { type: 'string' } });
  if (positionals.length > 1)
    throw usageError('policy check: expected at most one FILE', "see 'gov policy --help'");
  const path = locatePolicy(positionals[0] ?? values.policy);
  try {
    const p = loadPolicy(path);
    const n = p.ruleCount;
    process.stdout.write(`ok: ${path ?? BUILTIN_POLICY_SOURCE}: ${n} rule${n === 1 ? '' : 's'}\n`);
    if (p.credentials.length > 0) await warnMissingSecrets(p.credentials.map((c) => c.secret));
    return 0;
  } catch (err) {
    if (!(err instanceof PolicyLoadError)) throw err;
    for (const problem of err.problems) process.stderr.write(`gov: ${problem}\n`);
    return 2;
  }
}

/** Entry names are readable without the key; a vault that cannot be read is not checked. */
async function warnMissingSecrets(secrets: string[]): Promise<void> {
  const { readVaultFile } = await import('../../vault/store.js');
  let names: Set<string>;
  try {
    names = new Set(Object.keys(readVaultFile(homePaths().vault)?.entries ?? {}));
  } catch {
    return;
  }
  for (const name of new Set(secrets))
    if (!names.has(name))
      process.stderr.write(
        `gov: warning: credential secret '${name}' is not in the vault — add it with 'gov vault set ${name}'\n`,
      );
}

function parseArgsJson(text: string | undefined): JsonObject {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw usageError(
      `policy eval: --args is not valid JSON (${(err as Error).message})`,
      `pass an object, e.g. --args '{"amount": 500}'`,
    );
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw usageError(
      'policy eval: --args must be a JSON object',
      `pass an object, e.g. --args '{"amount": 500}'`,
    );
  return v as JsonObject;
}

function evaluate(argv: string[]): number {
  const { values, positionals } = parseCommandArgs('policy eval', argv, {
    policy: { type: 'string' },
    tool: { type: 'string' },
    server: { type: 'string' },
    args: { type: 'string' },
    method: { type: 'string' },
    uri: { type: 'string' },
    run: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0)
    throw usageError(`policy eval: unexpected argument '${positionals[0] ?? ''}'`, "see 'gov policy --help'");
  const method = values.method ?? 'tools/call';
  if ((method === 'tools/call' || method === 'prompts/get') && values.tool === undefined)
    throw usageError(`policy eval: ${method} needs --tool NAME`, "see 'gov policy --help'");
  if (
    method.startsWith('resources/') &&
    method !== 'resources/list' &&
    method !== 'resources/templates/list' &&
    values.uri === undefined
  )
    throw usageError(`policy eval: ${method} needs --uri URI`, "see 'gov policy --help'");
  const args = parseArgsJson(values.args);
  const policy = loadPolicy(locatePolicy(values.policy));

  const input = hypotheticalInput(policy, {
    method,
    tool: values.tool,
    uri: values.uri,
    server: values.server,
    args,
    run: values.run,
  });
  const d = policy.decide(input);
  if (values.json)
    process.stdout.write(`${JSON.stringify({ decision: d.decision, rule: d.rule, reason: d.reason })}\n`);
  else {
    const matched = policy.explain(input, d);
    process.stdout.write(
      `${d.decision} (rule ${d.rule}): ${d.reason}\n${matched !== undefined ? `  matched: ${matched}\n` : ''}`,
    );
  }
  return 0;
}

export default async function policy(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(HELP);
    return 0;
  }
  if (sub === 'check') return check(rest);
  if (sub === 'eval') return evaluate(rest);
  if (sub === 'test') return policyTest(rest);
  if (sub === 'replay') return policyReplay(rest);
  throw new GovError('usage', `policy: unknown subcommand '${sub}'`, {
    hint: "use 'gov policy check', 'eval', 'test' or 'replay'",
  });
}
