import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/** The native context behind a SecureContext: adds to this context's own copy of the store. */
interface NativeContext {
  addCACert?: (pem: string) => void;
}

/**
 * The TLS context gov verifies upstream servers with: the roots Node trusts (its bundled
 * roots, and NODE_EXTRA_CA_CERTS when gov's own environment sets it) plus `extraCaPems`
 * (`--upstream-ca`). Built once per process and shared by every upstream connection.
 *
 * Passing `ca: [...rootCertificates, ...]` would parse every root's PEM into a new store
 * (40–90 ms here, on every run's first upstream request); Node's own root store is parsed at
 * most once per process (at start-up already when NODE_EXTRA_CA_CERTS is set), and adding a
 * CA to a context copies that store rather than parsing it again.
 */
export function upstreamTrust(extraCaPems: readonly string[]): SecureContext {
  const context = createSecureContext();
  if (extraCaPems.length === 0) return context;
  const native = (context as unknown as { context?: NativeContext }).context;
  if (typeof native?.addCACert !== 'function')
    return createSecureContext({ ca: [...rootCertificates, ...extraCaPems] });
  for (const pem of extraCaPems) native.addCACert(pem);
  return context;
}
