/**
 * The child's environment (SPEC §3): every proxy variable the common runtimes read, the
 * combined CA bundle, the Node preload, the run id and credential placeholders; gov's own
 * GOV_* settings (the vault passphrase above all) removed.
 */
export const PROXY_VARS = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'http_proxy',
  'https_proxy',
  'WS_PROXY',
  'WSS_PROXY',
  'GLOBAL_AGENT_HTTP_PROXY',
  'npm_config_proxy',
  'npm_config_https_proxy',
] as const;

export const CA_BUNDLE_VARS = [
  'SSL_CERT_FILE',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'AWS_CA_BUNDLE',
  'DENO_CERT',
  'CARGO_HTTP_CAINFO',
  'PERL_LWP_SSL_CA_FILE',
] as const;

export interface ChildEnvInput {
  parent: NodeJS.ProcessEnv;
  proxyUrl: string;
  caBundlePath: string;
  nodeExtraCaPath: string;
  preloadPath: string;
  runId: string;
  keepNoProxy: boolean;
  placeholders: Record<string, string>;
}

function quoteForNodeOptions(p: string): string {
  return /[\s"\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}"` : p;
}

export function buildChildEnv(i: ChildEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.parent)) {
    if (v === undefined) continue;
    if (k.startsWith('GOV_')) continue;
    env[k] = v;
  }
  for (const k of PROXY_VARS) env[k] = i.proxyUrl;
  if (!i.keepNoProxy) {
    for (const k of Object.keys(env)) if (k.toLowerCase() === 'no_proxy') delete env[k];
  }
  for (const k of CA_BUNDLE_VARS) env[k] = i.caBundlePath;
  env['NODE_EXTRA_CA_CERTS'] = i.nodeExtraCaPath;
  const req = `--require ${quoteForNodeOptions(i.preloadPath)}`;
  const prev = env['NODE_OPTIONS']?.trim();
  env['NODE_OPTIONS'] = prev ? `${prev} ${req}` : req;
  // The preload routes fetch and node:http(s) on every Node version; Node 22's own
  // NODE_USE_ENV_PROXY would add a second mechanism and an "experimental" warning on stderr.
  delete env['NODE_USE_ENV_PROXY'];
  env['GOV_RUN_ID'] = i.runId;
  for (const [k, v] of Object.entries(i.placeholders)) env[k] = v;
  return env;
}
