import { readFile, stat } from 'node:fs/promises';
import { ConfigError, errnoCode, errorMessage } from '../errors.js';

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
 * Reads the CA, certificate and key named by a config file. A missing or unreadable file, or a
 * private key that group or others may read, is a {@link ConfigError} naming the config file and
 * the key (`tls.key`), so the agent refuses to start rather than run half-configured.
 */
export async function readTlsFiles(files: TlsFiles, configFile: string, section = 'tls'): Promise<TlsMaterial> {
  const read = async (key: keyof TlsFiles): Promise<Buffer> => {
    const path = files[key];
    try {
      return await readFile(path);
    } catch (err) {
      const why = errnoCode(err) === 'ENOENT' ? 'file not found' : errorMessage(err);
      throw new ConfigError(configFile, `${section}.${key}`, `cannot read ${path}: ${why}`, { cause: err });
    }
  };
  const material = { ca: await read('ca'), cert: await read('cert'), key: await read('key') };
  const mode = (await stat(files.key)).mode & 0o777;
  if (mode & 0o077) {
    throw new ConfigError(
      configFile,
      `${section}.key`,
      `${files.key} is ${exposure(mode)} (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${files.key}`,
    );
  }
  return material;
}

/** Who besides the owner may use a file of `mode`, in words: "readable by group", "writable by others", … */
function exposure(mode: number): string {
  const who = [mode & 0o070 ? 'group' : '', mode & 0o007 ? 'others' : ''].filter(Boolean).join(' and ');
  const how = mode & 0o044 ? 'readable' : mode & 0o022 ? 'writable' : 'accessible';
  return `${how} by ${who}`;
}
