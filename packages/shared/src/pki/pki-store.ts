import { open, readFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgentError, errnoCode } from '../errors.js';
import { status } from '@grpc/grpc-js';
import type { CertifiedKey } from './certificates.js';
import type { Role } from './identity.js';

/** The files of a PKI directory, as `binhostctl pki` lays them out. */
export const pkiPaths = {
  caCert: (dir: string) => join(dir, 'ca.pem'),
  caKey: (dir: string) => join(dir, 'ca.key'),
  cert: (dir: string, role: Role, name: string) => join(dir, `${role}-${name}.pem`),
  key: (dir: string, role: Role, name: string) => join(dir, `${role}-${name}.key`),
};

/** A file we refuse to overwrite. */
class FileExistsError extends AgentError {
  override name = 'FileExistsError';
  constructor(readonly path: string) {
    super(`${path} already exists; refusing to overwrite it (move it away first)`, status.ALREADY_EXISTS);
  }
}

/**
 * Writes a certificate (0644) and its private key (0600), refusing to replace either: the key is
 * created with O_EXCL, so an existing key is never silently overwritten.
 */
export async function writeCertifiedKey(certPath: string, keyPath: string, pair: CertifiedKey): Promise<void> {
  await writeNew(keyPath, pair.keyPem, 0o600);
  await writeNew(certPath, pair.certPem, 0o644);
}

/**
 * Creates a missing PKI directory mode 0700 (as install.sh makes /etc/binhost/pki: it holds private
 * keys); missing parents get 0755. An existing directory's mode is left alone.
 */
async function makePkiDir(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
}

async function writeNew(path: string, data: string, mode: number): Promise<void> {
  await makePkiDir(dirname(path));
  let handle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') throw new FileExistsError(path);
    throw err;
  }
  try {
    await handle.chmod(mode); // the umask may have narrowed or (0600 aside) nothing else
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads the CA of a PKI directory (certificate and key). */
export async function readCa(dir: string): Promise<CertifiedKey> {
  return {
    certPem: await readFile(pkiPaths.caCert(dir), 'utf8'),
    keyPem: await readFile(pkiPaths.caKey(dir), 'utf8'),
  };
}
