import type * as X509 from '@peculiar/x509';
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { isIP } from 'node:net';
import { assertValidName, CERT_ORGANIZATION, type Role } from './identity.js';

type X509Crypto = Parameters<typeof X509.cryptoProvider.set>[0];
type SigningKey = X509.X509CertificateCreateWithKeyParams['signingKey'];
type PublicKey = X509.X509CertificateCreateWithKeyParams['publicKey'];
type KeyPair = X509.X509CertificateCreateSelfSignedParams['keys'];

let loaded: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 (and the reflect-metadata it needs) is loaded on first use: only `binhostctl pki`
 * and tests issue certificates, and the agents would otherwise carry ~20 MiB of it in memory.
 */
function loadX509(): Promise<typeof X509> {
  loaded ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);
    return x509;
  })();
  return loaded;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM. */
export interface CertifiedKey {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Options for {@link createCa}. */
export interface CreateCaOptions {
  /** @default 'binhost-agents CA' */
  commonName?: string;
  /** @default 3650 */
  validDays?: number;
}

/** Creates a self-signed CA (ECDSA P-256) that may sign end-entity certificates only. */
export async function createCa(options: CreateCaOptions = {}): Promise<CertifiedKey> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${options.commonName ?? 'binhost-agents CA'}, O=${CERT_ORGANIZATION}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (options.validDays ?? 3650) * DAY_MS),
    signingAlgorithm: ALG,
    keys: keys as unknown as KeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as PublicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(x509, keys.privateKey) };
}

/** Options for {@link issueCertificate}. */
export interface IssueOptions {
  ca: CertifiedKey;
  role: Role;
  name: string;
  /** DNS names and IP addresses for a host certificate. @default [name] for hosts */
  sans?: readonly string[];
  /** @default 825 */
  validDays?: number;
  /** Overrides the validity window (tests make expired and not-yet-valid certificates). */
  notBefore?: Date;
  notAfter?: Date;
}

/**
 * Issues an end-entity certificate whose subject carries the identity (`O=binhost-agents,
 * OU=<role>, CN=<name>`). Hosts get serverAuth and their DNS/IP SANs; targets and admins get
 * clientAuth only, so a client certificate cannot serve as a host and vice versa.
 */
export async function issueCertificate(options: IssueOptions): Promise<CertifiedKey> {
  const x509 = await loadX509();
  assertValidName(options.name, `${options.role} name`);
  const caCert = new x509.X509Certificate(options.ca.certPem);
  const caKey = await importKeyPem(x509, options.ca.keyPem);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const isHost = options.role === 'host';
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension([isHost ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth], false),
    await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
  ];
  if (isHost) {
    const sans = options.sans?.length ? options.sans : [options.name];
    extensions.push(
      new x509.SubjectAlternativeNameExtension(sans.map((s) => (isIP(s) ? { type: 'ip', value: s } : { type: 'dns', value: s }))),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${options.name}, OU=${options.role}, O=${CERT_ORGANIZATION}`,
    issuer: caCert.subject,
    notBefore: options.notBefore ?? new Date(now - 60_000),
    notAfter: options.notAfter ?? new Date(now + (options.validDays ?? 825) * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey as unknown as PublicKey,
    signingKey: caKey,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(x509, keys.privateKey) };
}

/** What `binhostctl pki show` prints about a certificate. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  subjectAltName: string | undefined;
  fingerprint256: string;
}

/** Reads a PEM certificate with Node's own parser. */
export function describeCertificate(pem: string): CertificateInfo {
  const c = new NodeX509(pem);
  return {
    subject: c.subject.replaceAll('\n', ', '),
    issuer: c.issuer.replaceAll('\n', ', '),
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    subjectAltName: c.subjectAltName,
    fingerprint256: c.fingerprint256,
  };
}

async function exportKeyPem(x509: typeof X509, key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKeyPem(x509: typeof X509, pem: string): Promise<SigningKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error('CA key PEM holds no key');
  return (await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign'])) as unknown as SigningKey;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}
