import { existsSync, readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { HomePaths } from '../home.js';
import { isolationSupport } from '../isolation/availability.js';

/** `fail`: gov cannot work; `warn`: a feature is unavailable; `ok`: fine. */
export interface Check {
  name: 'node' | 'keyring' | 'ca' | 'isolation';
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export function checkNode(version = process.versions.node): Check {
  const major = Number(version.split('.')[0]);
  return major >= 20
    ? { name: 'node', status: 'ok', detail: `Node.js ${version}` }
    : {
        name: 'node',
        status: 'fail',
        detail: `Node.js ${version} is too old`,
        fix: 'install Node.js 20 or newer',
      };
}

/** Reads the keyring only (never writes): a working Secret Service answers, even "no key". */
export async function checkKeyring(home: string, env: NodeJS.ProcessEnv): Promise<Check> {
  const { backendChoice, osKeyring } = await import('../../vault/keyring.js');
  let choice;
  try {
    choice = backendChoice(env);
  } catch (err) {
    return {
      name: 'keyring',
      status: 'fail',
      detail: (err as Error).message,
      fix: 'unset GOV_VAULT_BACKEND',
    };
  }
  if (choice === 'passphrase')
    return { name: 'keyring', status: 'ok', detail: 'not used (GOV_VAULT_BACKEND=passphrase)' };
  const store = osKeyring(home, env);
  try {
    await store.get();
    return { name: 'keyring', status: 'ok', detail: store.description };
  } catch (err) {
    return {
      name: 'keyring',
      status: choice === 'keyring' ? 'fail' : 'warn',
      detail: (err as Error).message,
      fix: 'start or unlock the Secret Service, or use GOV_VAULT_PASSPHRASE (the vault then asks for it)',
    };
  }
}

export function checkCa(paths: HomePaths, now = Date.now()): Check {
  if (!existsSync(paths.caCert))
    return {
      name: 'ca',
      status: 'ok',
      detail: `not created yet (the first gov run creates ${paths.caCert})`,
    };
  try {
    const cert = new X509Certificate(readFileSync(paths.caCert));
    const mode = statSync(paths.caKey).mode & 0o777;
    if (mode & 0o077)
      return {
        name: 'ca',
        status: 'fail',
        detail: `the CA key ${paths.caKey} is readable by others (mode ${mode.toString(8)})`,
        fix: `chmod 600 ${paths.caKey}`,
      };
    const expires = Date.parse(cert.validTo);
    if (expires <= now)
      return {
        name: 'ca',
        status: 'fail',
        detail: `the CA expired on ${cert.validTo}`,
        fix: 'gov ca regenerate',
      };
    return { name: 'ca', status: 'ok', detail: `${paths.caCert} (valid until ${cert.validTo})` };
  } catch (err) {
    return {
      name: 'ca',
      status: 'fail',
      detail: `unreadable CA: ${(err as Error).message}`,
      fix: 'gov ca regenerate',
    };
  }
}

export function checkIsolation(env: NodeJS.ProcessEnv): Check {
  const s = isolationSupport(env);
  return s.ok
    ? {
        name: 'isolation',
        status: 'ok',
        detail: `gov run --isolate works (user, network, mount and PID namespaces; ${s.tools.unshare}, ${s.tools.ip})`,
      }
    : {
        name: 'isolation',
        status: 'warn',
        detail: `gov run --isolate is unavailable: ${s.cause}`,
        fix: s.fix,
      };
}
