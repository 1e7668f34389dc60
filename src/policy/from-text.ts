/**
 * YAML text → CompiledPolicy, or a list of `file:line:col: message` problems (earliest in
 * the file first, unknown keys before anything else they may have caused). Pure; load.ts
 * adds the file reading, the digest and the GovError.
 */
import { compilePolicy, type CompileMeta } from './compile.js';
import { PolicyCompileError, type CompiledPolicy } from './compiled.js';
import { parsePolicySpec } from './schema.js';
import { issueFromZod, readYamlSource } from './yaml-source.js';

export type PolicyTextResult = { ok: true; policy: CompiledPolicy } | { ok: false; problems: string[] };

export function compilePolicyText(text: string, meta: CompileMeta): PolicyTextResult {
  const read = readYamlSource(text, meta.source);
  if (!read.ok) return read;
  const { data, locate } = read.source;
  const parsed = parsePolicySpec(data);
  if (!parsed.ok) return { ok: false, problems: locate(parsed.issues.map(issueFromZod)) };
  try {
    return { ok: true, policy: compilePolicy(parsed.spec, meta) };
  } catch (err) {
    if (err instanceof PolicyCompileError) return { ok: false, problems: locate(err.issues) };
    throw err;
  }
}
