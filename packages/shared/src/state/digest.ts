import { createHash } from 'node:crypto';
import { FileKind, type FileEntry } from '../gen/binhost/agent/v1/types.js';

/** Prefix of every digest: the algorithm, and room to change it. */
const DIGEST_PREFIX = 'sha256:';

/**
 * The canonical digest of a target's config, replacing the guide's
 * `tar c etc/portage var/lib/portage/world* | sha256sum`. It depends only on what Portage reads:
 *
 * - each regular file's path and exact bytes, and each symlink's path and target, verbatim;
 * - entries in bytewise path order, so directory listing order does not matter;
 * - not mtimes, owners, permission bits or directories (an empty directory changes nothing for
 *   Portage); excluded paths ({@link isExcludedPath}) never reach here.
 *
 * Each entry is length-prefixed, so no two different trees share an encoding.
 */
export function stateDigest(files: readonly FileEntry[]): string {
  const hash = createHash('sha256');
  for (const part of digestParts(files)) hash.update(part);
  return DIGEST_PREFIX + hash.digest('hex');
}

/**
 * {@link stateDigest}, hashed in slices of about `sliceBytes` with the event loop let through
 * between them (`setImmediate`): the host hashes every report it receives, and a 32 MiB one
 * hashed in one go would hold up every other call, health checks included, for a noticeable time.
 * @param sliceBytes @default 1 MiB
 */
export async function stateDigestAsync(files: readonly FileEntry[], sliceBytes = 1024 * 1024): Promise<string> {
  const hash = createHash('sha256');
  let sinceYield = 0;
  for (const part of digestParts(files)) {
    for (let at = 0; at < part.length; at += sliceBytes) {
      const piece = at === 0 && part.length <= sliceBytes ? part : part.subarray(at, at + sliceBytes);
      hash.update(piece);
      sinceYield += piece.length;
      if (sinceYield >= sliceBytes) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  return DIGEST_PREFIX + hash.digest('hex');
}

/** The byte strings the digest hashes, in order (see {@link stateDigest} for the encoding). */
function* digestParts(files: readonly FileEntry[]): Generator<Uint8Array> {
  yield Buffer.from('binhost-state-v1\0');
  const entries = files
    .filter((f) => f.kind === FileKind.FILE_KIND_REGULAR || f.kind === FileKind.FILE_KIND_SYMLINK)
    .map((f) => ({ f, key: Buffer.from(f.path, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.key, b.key));
  for (const { f, key } of entries) {
    const body = f.kind === FileKind.FILE_KIND_SYMLINK ? Buffer.from(f.linkTarget, 'utf8') : f.content;
    yield Buffer.from(`${f.kind === FileKind.FILE_KIND_SYMLINK ? 'L' : 'F'}${key.length}\0`);
    yield key;
    yield Buffer.from(`${body.length}\0`);
    yield body;
  }
}

/** What the target agent writes itself, or what editors and etc-update leave behind. */
const EXCLUDED: readonly RegExp[] = [
  // our own binrepos.conf entry and Portage's verification keyring (we write both)
  /^etc\/portage\/binrepos\.conf\/binhost-agent\.conf$/,
  /^etc\/portage\/gnupg(\/|$)/,
  // etc-update / dispatch-conf pending updates
  /(^|\/)\._cfg[0-9]{4}_[^/]*$/,
  /(^|\/)\._mrg[0-9]{4}_[^/]*$/,
  // editor backups, swap and lock files
  /~$/,
  /(^|\/)\.[^/]*\.sw[a-p]$/,
  /(^|\/)\.#[^/]*$/,
  /(^|\/)#[^/]*#$/,
];

/**
 * True for paths that are not part of a target's state (see the list above and the README's
 * "What the digest covers"). Paths are root-relative, '/'-separated.
 */
export function isExcludedPath(path: string): boolean {
  return EXCLUDED.some((re) => re.test(path));
}
