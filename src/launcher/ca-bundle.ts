import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';

/** Where distributions keep the system trust store as one PEM file. */
export const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
  '/etc/ssl/ca-bundle.pem',
];

/** The system trust store as PEM: the distribution's bundle, else Node's bundled roots. */
export function systemRootsPem(): string {
  for (const f of SYSTEM_BUNDLES) {
    if (existsSync(f)) {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        /* try the next one */
      }
    }
  }
  return rootCertificates.join('\n') + '\n';
}

function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o644 });
  renameSync(tmp, path);
}

/**
 * Write the child's trust files under `dir` (GOV_HOME/ca): a combined bundle (system roots +
 * gov CA) for tools whose CA variable replaces the store, and the NODE_EXTRA_CA_CERTS file
 * (gov CA + whatever extra certs the user already had).
 */
export function writeTrustFiles(opts: {
  dir: string;
  run: string;
  govCaPem: string;
  inheritedNodeExtra?: string | undefined;
}): { bundle: string; nodeExtra: string; cleanup: () => void } {
  const bundle = join(opts.dir, 'bundle.pem');
  writeAtomic(bundle, systemRootsPem().trimEnd() + '\n' + opts.govCaPem);
  let nodeExtra = join(opts.dir, 'ca.pem');
  let cleanup = () => {};
  if (opts.inheritedNodeExtra && existsSync(opts.inheritedNodeExtra)) {
    nodeExtra = join(opts.dir, `node-extra-${opts.run}.pem`);
    writeAtomic(nodeExtra, opts.govCaPem + readFileSync(opts.inheritedNodeExtra, 'utf8'));
    const p = nodeExtra;
    cleanup = () => {
      try {
        rmSync(p, { force: true });
      } catch {
        /* best effort */
      }
    };
  }
  return { bundle, nodeExtra, cleanup };
}
