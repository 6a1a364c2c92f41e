import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, errnoCode, errorMessage } from '../errors.js';
import { certificateOfRole, identityFromSubject, type Role, type SubjectFields } from '../pki/identity.js';

/** Paths of the PEM files an agent or the CLI authenticates with. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** The PEM bytes of {@link TlsFiles}. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads the CA, certificate and key named by a config file. A missing or unreadable file, a file
 * that is not PEM, a key that is not the certificate's, a certificate of another role than `role`
 * (when given: `host` for the host agent, `target` for a target), or a private key that group or
 * others may read, is a {@link ConfigError} naming the config file and the key (`tls.key`), so
 * the agent refuses to start — and `--check-config` fails — rather than run half-configured.
 */
export async function readTlsFiles(files: TlsFiles, configFile: string, role?: Role): Promise<TlsMaterial> {
  const read = async (key: keyof TlsFiles): Promise<Buffer> => {
    const path = files[key];
    try {
      return await readFile(path);
    } catch (err) {
      const why = errnoCode(err) === 'ENOENT' ? 'file not found' : errorMessage(err);
      throw new ConfigError(configFile, `tls.${key}`, `cannot read ${path}: ${why}`, { cause: err });
    }
  };
  const material = { ca: await read('ca'), cert: await read('cert'), key: await read('key') };
  const mode = (await stat(files.key)).mode & 0o777;
  if (mode & 0o077) {
    throw new ConfigError(
      configFile,
      'tls.key',
      `${files.key} is ${exposure(mode)} (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${files.key}`,
    );
  }
  checkMaterial(material, files, configFile, role);
  return material;
}

/** Who besides the owner may use a file of `mode`, in words: "readable by group", "writable by others", … */
function exposure(mode: number): string {
  const who = [mode & 0o070 ? 'group' : '', mode & 0o007 ? 'others' : ''].filter(Boolean).join(' and ');
  const how = mode & 0o044 ? 'readable' : mode & 0o022 ? 'writable' : 'accessible';
  return `${how} by ${who}`;
}

/** The checks of {@link readTlsFiles} on the PEM contents: what OpenSSL would only say at the first handshake. */
function checkMaterial(material: TlsMaterial, files: TlsFiles, configFile: string, role: Role | undefined): void {
  const fail = (key: keyof TlsFiles, detail: string, err?: unknown): never => {
    throw new ConfigError(configFile, `tls.${key}`, detail, err === undefined ? undefined : { cause: err });
  };
  const certificate = (key: 'ca' | 'cert'): X509Certificate => {
    if (!material[key].includes('-----BEGIN CERTIFICATE-----')) fail(key, `${files[key]} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`);
    try {
      return new X509Certificate(material[key]);
    } catch (err) {
      return fail(key, `${files[key]} is not a valid PEM certificate: ${errorMessage(err)}`, err);
    }
  };
  certificate('ca');
  const cert = certificate('cert');
  let key: KeyObject;
  try {
    key = createPrivateKey(material.key);
  } catch (err) {
    return fail('key', `${files.key} is not a PEM private key: ${errorMessage(err)}`, err);
  }
  if (!cert.checkPrivateKey(key)) fail('key', `${files.key} is not the private key of the certificate ${files.cert} (tls.cert)`);
  if (role === undefined) return;
  let has: Role;
  try {
    has = identityFromSubject(subjectFields(cert.subject)).role;
  } catch (err) {
    return fail('cert', `${files.cert} is not a binhost certificate (${errorMessage(err)}); the ${role} agent needs ${certificateOfRole(role)}`, err);
  }
  if (has !== role) fail('cert', `${files.cert} is ${certificateOfRole(has)}; the ${role} agent needs ${certificateOfRole(role)} (binhostctl pki issue ${role} NAME)`);
}

/** Node's X509Certificate.subject (`CN=a\nOU=host\nO=…`) as tls.PeerCertificate's subject fields. */
function subjectFields(subject: string): SubjectFields {
  const fields: Record<string, string | string[]> = {};
  for (const line of subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const [name, value] = [line.slice(0, eq), line.slice(eq + 1)];
    const prev = fields[name];
    fields[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return fields;
}
