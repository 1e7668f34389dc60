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

/** Variables that name a CA bundle which replaces a tool's trust store (README lists them). */
export const CA_BUNDLE_VARS = [
  'SSL_CERT_FILE', // OpenSSL, Python ssl/urllib/httpx, Ruby, Go (Linux)
  'REQUESTS_CA_BUNDLE', // Python requests
  'CURL_CA_BUNDLE', // curl, requests
  'GIT_SSL_CAINFO', // git
  'AWS_CA_BUNDLE', // AWS CLI and SDKs
  'DENO_CERT', // Deno
  'CARGO_HTTP_CAINFO', // cargo
  'PERL_LWP_SSL_CA_FILE', // Perl LWP
  'npm_config_cafile', // npm, npx, pnpm (replaces .npmrc's cafile)
  'NPM_CONFIG_CAFILE',
  'YARN_CA_FILE_PATH', // yarn 2+
  'PIP_CERT', // pip
  'HTTPLIB2_CA_CERTS', // Python httplib2 (google-api-python-client)
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', // gRPC core (Python, Ruby, C++)
  'NIX_SSL_CERT_FILE', // Nix-built tools
  'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE', // gcloud
  'BUNDLE_SSL_CA_CERT', // Ruby bundler
  'COMPOSER_CAFILE', // PHP composer
  'HEX_CACERTS_PATH', // Elixir hex
  'WEBSOCKET_CLIENT_CA_BUNDLE', // Python websocket-client
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
  /** Whether an inherited value names a CA bundle file (then it is pointed at gov's bundle). */
  isCaBundleFile?: (path: string) => boolean;
}

function quoteForNodeOptions(p: string): string {
  return /[\s"\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}"` : p;
}

/** A child's copy of gov's environment without gov's own settings (the vault passphrase above all). */
export function withoutGovSettings(parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && !k.startsWith('GOV_')) env[k] = v;
  return env;
}

export function buildChildEnv(i: ChildEnvInput): Record<string, string> {
  const env = withoutGovSettings(i.parent);
  for (const k of PROXY_VARS) env[k] = i.proxyUrl;
  if (!i.keepNoProxy) {
    for (const k of Object.keys(env)) if (k.toLowerCase() === 'no_proxy') delete env[k];
  }
  // Any other inherited variable that names a CA bundle would make its tool reject gov's
  // certificate: point it at the combined bundle too.
  // Each file is read once, however many variables name it (a dozen often name the system's).
  if (i.isCaBundleFile) {
    const verdicts = new Map<string, boolean>();
    const replaced = new Set<string>([...CA_BUNDLE_VARS, 'NODE_EXTRA_CA_CERTS']);
    for (const [k, v] of Object.entries(env)) {
      if (replaced.has(k) || !v.startsWith('/')) continue;
      let isBundle = verdicts.get(v);
      if (isBundle === undefined) verdicts.set(v, (isBundle = i.isCaBundleFile(v)));
      if (isBundle) env[k] = i.caBundlePath;
    }
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
