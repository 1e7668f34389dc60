import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

/**
 * Certificate building with node-forge for the ASN.1, signed natively with node:crypto
 * (forge's pure-JS RSA signing costs milliseconds per certificate on the hot path).
 */

const SHA256_RSA = forge.pki.oids['sha256WithRSAEncryption'] as string;

/** A positive serial: 16 random bytes with the top bit cleared and a non-zero first byte. */
export function positiveSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

/** Index of subjectPublicKeyInfo in a TBSCertificate (after version, serial, sigAlg, issuer, validity, subject). */
const TBS_SPKI_INDEX = 6;

/**
 * Sign `cert` with the CA's RSA key natively. `spki` (DER as forge ASN.1) replaces the
 * certificate's own public key, so leaves can carry keys forge cannot encode (ECDSA).
 */
export function signCertificate(cert: forge.pki.Certificate, key: KeyObject, spki?: forge.asn1.Asn1): void {
  cert.signatureOid = SHA256_RSA;
  (cert as unknown as { siginfo: { algorithmOid: string } }).siginfo.algorithmOid = SHA256_RSA;
  const pki = forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 };
  const tbs = pki.getTBSCertificate(cert);
  if (spki) (tbs.value as forge.asn1.Asn1[])[TBS_SPKI_INDEX] = spki;
  (cert as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  const der = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = sign('sha256', der, key).toString('binary');
}

export interface AltName {
  type: 2 | 7;
  value?: string;
  ip?: string;
}

/** SANs for a host: an IP literal (v4 or v6, brackets stripped) becomes an iPAddress SAN. */
export function altNamesFor(host: string): AltName[] {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(h) ? [{ type: 7, ip: h }] : [{ type: 2, value: h }];
}
