import { AgentError, assertSafeRelativePath, indexValue, parsePackagesIndex, type FileDigest } from '@binhost/shared';
import { status } from '@grpc/grpc-js';

/** One file a snapshot's index names, with what it must be. */
export interface MirrorEntry {
  /** The index's PATH (or Portage's default `<CPV>.tbz2`), checked safe. */
  readonly path: string;
  readonly size: number;
  /** Lowercase hex, when the index has it. */
  readonly md5: string | undefined;
  readonly sha1: string | undefined;
  /**
   * Lowercase hex SHA-256 the host recorded for this file after checking it against the index
   * (GetPublication `file_digests`). When present, it alone (with SIZE) verifies the download.
   */
  readonly sha256?: string;
  /** Name of the verified object in the mirror: the content, not the PATH, identifies it. */
  readonly key: string;
}

/** The index refers to something the mirror will not take (unsafe name, no size or digest). */
export class IndexRefusedError extends AgentError {
  override name = 'IndexRefusedError';
  constructor(message: string) {
    super(message, status.FAILED_PRECONDITION);
  }
}

/**
 * Reads the files a `Packages` index names. Every PATH from the network is checked with
 * {@link assertSafeRelativePath} (an index naming `../../etc/shadow` is refused whole), and every
 * entry needs a SIZE and an MD5 or SHA1, or the file could not be verified. A `strong` digest
 * of the host is taken for a PATH only when its size is the index's SIZE.
 */
export function mirrorEntries(indexText: string, source = 'Packages', strong: readonly FileDigest[] = []): MirrorEntry[] {
  const sha256 = new Map(strong.filter((d) => d.sha256.length === 32).map((d) => [d.path, d]));
  const index = parsePackagesIndex(indexText, source);
  const byPath = new Map<string, MirrorEntry>();
  for (const block of index.packages) {
    const cpv = indexValue(block, 'CPV') ?? '(no CPV)';
    const path = indexValue(block, 'PATH') ?? `${cpv}.tbz2`;
    try {
      assertSafeRelativePath(path, `PATH of ${cpv}`);
    } catch (err) {
      throw new IndexRefusedError(`${source} refused: ${(err as Error).message}`);
    }
    const sizeText = indexValue(block, 'SIZE');
    if (!sizeText || !/^\d+$/.test(sizeText)) throw new IndexRefusedError(`${source} refused: ${path} has no valid SIZE`);
    const md5 = hex(indexValue(block, 'MD5'), 32, source, path);
    const sha1 = hex(indexValue(block, 'SHA1'), 40, source, path);
    if (!md5 && !sha1) throw new IndexRefusedError(`${source} refused: ${path} has neither MD5 nor SHA1`);
    const size = Number(sizeText);
    const key = sha1 ? `sha1-${sha1}-${size}` : `md5-${md5}-${size}`;
    const previous = byPath.get(path);
    if (previous && previous.key !== key) throw new IndexRefusedError(`${source} refused: ${path} is listed twice with different content`);
    const s = sha256.get(path);
    const entry: MirrorEntry = { path, size, md5, sha1, key };
    byPath.set(path, s && s.size === BigInt(size) ? { ...entry, sha256: Buffer.from(s.sha256).toString('hex') } : entry);
  }
  return [...byPath.values()];
}

function hex(value: string | undefined, length: number, source: string, path: string): string | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v.length !== length || !/^[0-9a-f]+$/.test(v)) throw new IndexRefusedError(`${source} refused: ${path} has a malformed digest "${value}"`);
  return v;
}
