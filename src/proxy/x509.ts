import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/asn1-x509';
import type * as Schema from '@peculiar/asn1-schema';
import * as der from './der.js';

/**
 * Certificates for gov's CA and its leaves: the structures come from the `@peculiar/asn1-x509`
 * schemas (DER), the signature from node:crypto (RSA-SHA256 by the CA's key).
 */

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';

let libs: { x: typeof X509; s: typeof Schema } | undefined;
/** The ASN.1 schemas, loaded on first use: start-up needs none of them (~0.2 s to load). */
function asn1(): { x: typeof X509; s: typeof Schema } {
  if (!libs) {
    const require = createRequire(import.meta.url);
    libs = {
      x: require('@peculiar/asn1-x509') as typeof X509,
      s: require('@peculiar/asn1-schema') as typeof Schema,
    };
  }
  return libs;
}

/** Load the ASN.1 schemas now (after start-up, so the first certificate is minted quickly). */
export function warmX509(): void {
  asn1();
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

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A Name of commonName (and organization) attributes, as UTF8Strings. */
function nameOf(cn: string, org?: string): X509.Name {
  const { x } = asn1();
  const rdn = (type: string, value: string) =>
    new x.RelativeDistinguishedName([
      new x.AttributeTypeAndValue({ type, value: new x.AttributeValue({ utf8String: value }) }),
    ]);
  return new x.Name(
    org === undefined ? [rdn(COMMON_NAME, cn)] : [rdn(COMMON_NAME, cn), rdn(ORGANIZATION, org)],
  );
}

function extension(oid: string, value: unknown, critical = false): X509.Extension {
  const { x, s } = asn1();
  return new x.Extension({
    extnID: oid,
    critical,
    extnValue: new s.OctetString(s.AsnConvert.serialize(value)),
  });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: X509.SubjectPublicKeyInfo): ArrayBuffer {
  return toArrayBuffer(createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest());
}

interface IssueInput {
  subject: X509.Name;
  issuer: X509.Name;
  /** DER SubjectPublicKeyInfo of the certified key (RSA, EC…). */
  spkiDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: (spki: X509.SubjectPublicKeyInfo) => X509.Extension[];
  /** The issuer's RSA private key. */
  signer: KeyObject;
}

function issue(i: IssueInput): string {
  const { x, s } = asn1();
  const spki = s.AsnConvert.parse(i.spkiDer, x.SubjectPublicKeyInfo);
  const algorithm = new x.AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null });
  const tbs = new x.TBSCertificate({
    version: x.Version.v3,
    serialNumber: toArrayBuffer(positiveSerial()),
    signature: algorithm,
    issuer: i.issuer,
    validity: new x.Validity({ notBefore: i.notBefore, notAfter: i.notAfter }),
    subject: i.subject,
    subjectPublicKeyInfo: spki,
    extensions: new x.Extensions(i.extensions(spki)),
  });
  const tbsDer = Buffer.from(s.AsnConvert.serialize(tbs));
  const cert = new x.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: toArrayBuffer(sign('sha256', tbsDer, i.signer)),
  });
  const der = Buffer.from(s.AsnConvert.serialize(cert)).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${der.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
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
  const { x } = asn1();
  const name = nameOf(o.cn, o.org);
  return issue({
    subject: name,
    issuer: name,
    spkiDer: o.publicKeyDer,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    signer: o.key,
    extensions: (spki) => [
      extension(x.id_ce_basicConstraints, new x.BasicConstraints({ cA: true, pathLenConstraint: 0 }), true),
      extension(
        x.id_ce_keyUsage,
        new x.KeyUsage(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign),
        true,
      ),
      extension(x.id_ce_subjectKeyIdentifier, new x.SubjectKeyIdentifier(keyIdentifier(spki))),
    ],
  });
}

/** What a leaf needs from its CA: the issuer name (DER) and key identifier, read once. */
export interface Issuer {
  nameDer: Buffer;
  keyId: Buffer;
  key: KeyObject;
}

export function issuerOf(caCertPem: string, key: KeyObject): Issuer {
  const { x, s } = asn1();
  const ca = s.AsnConvert.parse(pemToDer(caCertPem), x.Certificate).tbsCertificate;
  return {
    nameDer: Buffer.from(s.AsnConvert.serialize(ca.subject)),
    keyId: Buffer.from(keyIdentifier(ca.subjectPublicKeyInfo)),
    key,
  };
}

const OID = {
  commonName: der.oid(COMMON_NAME),
  sha256WithRsa: der.oid(SHA256_WITH_RSA),
  basicConstraints: der.oid('2.5.29.19'),
  keyUsage: der.oid('2.5.29.15'),
  extKeyUsage: der.oid('2.5.29.37'),
  subjectAltName: der.oid('2.5.29.17'),
  subjectKeyId: der.oid('2.5.29.14'),
  authorityKeyId: der.oid('2.5.29.35'),
  serverAuth: der.oid('1.3.6.1.5.5.7.3.1'),
  clientAuth: der.oid('1.3.6.1.5.5.7.3.2'),
};
const NULL = Buffer.from([0x05, 0x00]);
/** KeyUsage digitalSignature: a BIT STRING of one byte, seven unused bits. */
const DIGITAL_SIGNATURE = Buffer.from([0x03, 0x02, 0x07, 0x80]);

const ext = (id: Buffer, value: Buffer, critical = false): Buffer =>
  der.seq(id, ...(critical ? [der.TRUE] : []), der.octets(value));

/**
 * A server certificate for `hosts` (DNS or IP SANs) carrying the key in `spkiDer`, encoded
 * directly in DER (see der.ts): the same structure the CA's schemas would produce.
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
  // RFC 5280 §4.2.1.2 method 1, as for the CA.
  const keyId = createHash('sha1').update(der.spkiKeyBits(o.spkiDer)).digest();
  const algorithm = der.seq(OID.sha256WithRsa, NULL);
  const tbs = der.seq(
    der.tlv(0xa0, der.integer(Buffer.from([2]))),
    der.integer(positiveSerial()),
    algorithm,
    o.issuer.nameDer,
    der.seq(der.time(o.notBefore), der.time(o.notAfter)),
    subject,
    o.spkiDer,
    der.tlv(
      0xa3,
      der.seq(
        ext(OID.basicConstraints, der.seq()),
        ext(OID.keyUsage, DIGITAL_SIGNATURE, true),
        ext(OID.extKeyUsage, der.seq(OID.serverAuth, ...(o.clientAuth ? [OID.clientAuth] : []))),
        ext(OID.subjectAltName, der.seq(...sans)),
        ext(OID.subjectKeyId, der.octets(keyId)),
        ext(OID.authorityKeyId, der.seq(der.tlv(0x80, o.issuer.keyId))),
      ),
    ),
  );
  const cert = der.seq(tbs, algorithm, der.bitString(sign('sha256', tbs, o.issuer.key)));
  return `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}
