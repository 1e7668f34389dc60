/**
 * The policy engine's public surface. load.ts is the only module here that does I/O; the
 * rest (compile, decide, globs, CEL, constraints) is pure.
 */
export type {
  CompiledPolicy,
  CredentialBinding,
  PolicyInput,
  PolicyIssue,
  RuleSummary,
  UnknownServers,
} from './compiled.js';
export { PolicyCompileError } from './compiled.js';
export { ConstraintTracker, type ConstraintCheck } from './constraints.js';
export { BUILTIN_POLICY_SOURCE, BUILTIN_POLICY_TEXT } from './default-policy.js';
export { explainConstraints } from './explain.js';
export { compilePolicyText, type PolicyTextResult } from './from-text.js';
export { normalizeServerUrl } from './glob.js';
export { toPolicyInput } from './input.js';
export {
  builtinPolicy,
  findPolicyPath,
  loadPolicy,
  loadPolicyFromText,
  policyDigest,
  PolicyLoadError,
} from './load.js';
export { STARTER_POLICY_TEXT } from './starter-policy.js';
