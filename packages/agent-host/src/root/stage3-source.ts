import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, AgentError } from '@binhost/shared';
import { status } from '@grpc/grpc-js';
import { DigestMismatchError } from './root-errors.js';

/** Hex SHA-256 of a file, streamed. */
async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** Checks a caller-given hex digest's shape, lower-cased. */
function normalizeSha256(hex: string): string {
  const h = hex.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(h)) throw new InvalidArgumentError(`sha256 must be 64 hex digits, got ${JSON.stringify(hex.slice(0, 80))}`);
  return h;
}

/** Throws {@link DigestMismatchError} unless `file` has digest `expected` (hex). */
export async function verifySha256(file: string, expected: string): Promise<void> {
  const want = normalizeSha256(expected);
  const got = await sha256File(file);
  if (got !== want) throw new DigestMismatchError(want, got);
}

/**
 * Downloads `url` (https only: the tarball becomes the root every package is built in) to
 * `dest` with node's fetch. The caller verifies the digest and removes `dest` afterwards.
 */
export async function downloadStage3(url: string, dest: string, signal?: AbortSignal, fetchImpl: typeof fetch = fetch): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`stage3 URL ${JSON.stringify(url.slice(0, 200))} is not a URL`);
  }
  if (parsed.protocol !== 'https:') throw new InvalidArgumentError(`stage3 URL must be https, got ${parsed.protocol}`);
  const res = await fetchImpl(parsed, signal ? { signal } : {}).catch((err: unknown) => {
    throw new AgentError(`fetching ${parsed.href}: ${(err as Error).message}`, status.UNAVAILABLE, { cause: err });
  });
  if (!res.ok || !res.body) throw new AgentError(`fetching ${parsed.href}: HTTP ${res.status}`, status.UNAVAILABLE);
  await pipeline(Readable.fromWeb(res.body as ReadableStream), createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
}
