import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import * as der from './der.js';

/**
 * Certificates for gov's CA and its leaves, written directly in DER (der.ts): building them
 * through ASN.1 schema objects cost 2–5 ms per certificate and ~0.2 s to load the schemas.
 * The signature comes from node:crypto with the CA's key: ECDSA P-256 for CAs gov creates,
 * RSA for CAs created before gov switched (both keep working).
 */

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';
/** DER NULL, the parameters of RSA's AlgorithmIdentifier. */
const NULL = Buffer.from([0x05, 0x00]);

/** How a certificate is signed with `key`: the digest and the AlgorithmIdentifier's OID. */
export interface SignatureAlgorithm {
  digest: 'sha256' | 'sha384';
  oid: string;
  /** RSA's AlgorithmIdentifier carries NULL parameters; ECDSA's has none (RFC 5758 §3.2). */
  nullParameters: boolean;
}

export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa')
    return { digest: 'sha256', oid: SHA256_WITH_RSA, nullParameters: true };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { digest: 'sha256', oid: ECDSA_WITH_SHA256, nullParameters: false };
    if (curve === 'secp384r1') return { digest: 'sha384', oid: ECDSA_WITH_SHA384, nullParameters: false };
  }
  const kind = key.asymmetricKeyType ?? 'unknown';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new Error(
    `a CA key of type ${kind}${curve ? ` (${curve})` : ''} cannot sign certificates here (RSA or ECDSA P-256/P-384)`,
  );
}

/** A positive serial: 16 random bytes with the top bit cleared and a non-zero first byte. */
export function positiveSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b;
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

const OID = {
  commonName: der.oid(COMMON_NAME),
  organization: der.oid(ORGANIZATION),
  basicConstraints: der.oid('2.5.29.19'),
  keyUsage: der.oid('2.5.29.15'),
  extKeyUsage: der.oid('2.5.29.37'),
  subjectAltName: der.oid('2.5.29.17'),
  subjectKeyId: der.oid('2.5.29.14'),
  authorityKeyId: der.oid('2.5.29.35'),
  serverAuth: der.oid('1.3.6.1.5.5.7.3.1'),
  clientAuth: der.oid('1.3.6.1.5.5.7.3.2'),
};
/** KeyUsage digitalSignature: a BIT STRING of one byte, seven unused bits. */
const DIGITAL_SIGNATURE = Buffer.from([0x03, 0x02, 0x07, 0x80]);
/** KeyUsage keyCertSign and cRLSign (bits 5 and 6): one byte, one unused bit. */
const CERT_AND_CRL_SIGN = Buffer.from([0x03, 0x02, 0x01, 0x06]);

const ext = (id: Buffer, value: Buffer, critical = false): Buffer =>
  der.seq(id, ...(critical ? [der.TRUE] : []), der.octets(value));

/** A Name of a commonName and, optionally, an organization, each its own RDN, as UTF8Strings. */
function nameDer(cn: string, org?: string): Buffer {
  const rdn = (type: Buffer, value: string) => der.tlv(0x31, der.seq(type, der.utf8(value)));
  return org === undefined
    ? der.seq(rdn(OID.commonName, cn))
    : der.seq(rdn(OID.commonName, cn), rdn(OID.organization, org));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spkiDer: Buffer): Buffer {
  return createHash('sha1').update(der.spkiKeyBits(spkiDer)).digest();
}

/** A v3 certificate: the TBSCertificate of these parts, signed by `issuer`, as PEM. */
function signedCertificatePem(o: {
  issuer: Pick<Issuer, 'nameDer' | 'key' | 'algorithmDer' | 'digest'>;
  subject: Buffer;
  spkiDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}): string {
  const tbs = der.seq(
    der.tlv(0xa0, der.integer(Buffer.from([2]))),
    der.integer(positiveSerial()),
    o.issuer.algorithmDer,
    o.issuer.nameDer,
    der.seq(der.time(o.notBefore), der.time(o.notAfter)),
    o.subject,
    o.spkiDer,
    der.tlv(0xa3, der.seq(...o.extensions)),
  );
  const cert = der.seq(tbs, o.issuer.algorithmDer, der.bitString(sign(o.issuer.digest, tbs, o.issuer.key)));
  return `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
}

/** A self-signed CA certificate (path length 0, keyCertSign/cRLSign) for `key`. */
export function caCertificatePem(o: {
  cn: string;
  org?: string;
  publicKeyDer: Buffer;
  key: KeyObject;
  notBefore: Date;
  notAfter: Date;
}): string {
  const name = nameDer(o.cn, o.org);
  return signedCertificatePem({
    issuer: { nameDer: name, key: o.key, ...algorithmOf(o.key) },
    subject: name,
    spkiDer: o.publicKeyDer,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    extensions: [
      ext(OID.basicConstraints, der.seq(der.TRUE, der.integer(Buffer.from([0]))), true),
      ext(OID.keyUsage, CERT_AND_CRL_SIGN, true),
      ext(OID.subjectKeyId, der.octets(keyIdentifier(o.publicKeyDer))),
    ],
  });
}

/** What a leaf needs from its CA: the issuer name (DER) and key identifier, read once. */
export interface Issuer {
  nameDer: Buffer;
  keyId: Buffer;
  key: KeyObject;
  /** The signature AlgorithmIdentifier (DER) and digest, fixed by the CA's key. */
  algorithmDer: Buffer;
  digest: SignatureAlgorithm['digest'];
}

function algorithmOf(key: KeyObject): Pick<Issuer, 'algorithmDer' | 'digest'> {
  const alg = signatureAlgorithmFor(key);
  return {
    algorithmDer: der.seq(der.oid(alg.oid), ...(alg.nullParameters ? [NULL] : [])),
    digest: alg.digest,
  };
}

export function issuerOf(caCertPem: string, key: KeyObject): Issuer {
  const { subjectDer, spkiDer } = der.certificateSubject(pemToDer(caCertPem));
  return { nameDer: subjectDer, keyId: keyIdentifier(spkiDer), key, ...algorithmOf(key) };
}

/**
 * A server certificate for `hosts` (DNS or IP SANs) carrying the key in `spkiDer`, signed by
 * `issuer` (gov's CA).
 */
export function leafCertificatePem(o: {
  hosts: string[];
  spkiDer: Buffer;
  issuer: Issuer;
  notBefore: Date;
  notAfter: Date;
  /** Also usable as a TLS client certificate (test PKIs for mTLS). */
  clientAuth?: boolean;
}): string {
  const sans = o.hosts
    .flatMap(altNamesFor)
    .map((a) =>
      a.type === 7 ? der.tlv(0x87, der.ipBytes(a.ip!)) : der.tlv(0x82, Buffer.from(a.value!, 'ascii')),
    );
  const cn = o.hosts[0] ?? '';
  // A commonName is at most 64 characters (RFC 5280 ub-common-name); SANs carry the rest.
  const subject = der.seq(
    der.tlv(0x31, der.seq(OID.commonName, der.utf8(cn.length <= 64 ? cn : 'gov-intercepted'))),
  );
  return signedCertificatePem({
    issuer: o.issuer,
    subject,
    spkiDer: o.spkiDer,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    extensions: [
      ext(OID.basicConstraints, der.seq()),
      ext(OID.keyUsage, DIGITAL_SIGNATURE, true),
      ext(OID.extKeyUsage, der.seq(OID.serverAuth, ...(o.clientAuth ? [OID.clientAuth] : []))),
      ext(OID.subjectAltName, der.seq(...sans)),
      // RFC 5280 §4.2.1.2 method 1, as for the CA.
      ext(OID.subjectKeyId, der.octets(keyIdentifier(o.spkiDer))),
      ext(OID.authorityKeyId, der.seq(der.tlv(0x80, o.issuer.keyId))),
    ],
  });
}
