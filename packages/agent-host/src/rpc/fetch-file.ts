import { open, realpath, type FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';
import { status } from '@grpc/grpc-js';
import { AgentError, assertSafeRelativePath, EncodedFetchFileChunk, NotFoundError, type FetchFileRequest, type FetchFileResponse } from '@binhost/shared';
import type { PublicationSource } from '../delivery/publication-source.js';

/** Bytes per FetchFile message: few enough messages that framing costs little, small enough for flat memory. @default 256 KiB */
export const FETCH_CHUNK_BYTES = 256 * 1024;

/**
 * TargetService.FetchFile: streams one file of one of the caller's snapshots from `offset`.
 *
 * The name must be safe ({@link assertSafeRelativePath}), listed as a PATH in that snapshot's
 * index, and resolve (symlinks followed) inside the snapshot directory. Each chunk is read one
 * ahead of the one being sent: the adapter waits for 'drain' before asking for the next one, so
 * memory stays at a few chunks whatever the file size.
 */
export async function* fetchFile(
  source: PublicationSource,
  target: string,
  req: FetchFileRequest,
  signal: AbortSignal,
  chunkBytes = FETCH_CHUNK_BYTES,
): AsyncGenerator<FetchFileResponse> {
  const handle = await openServedFile(source, target, req);
  try {
    const size = (await handle.stat()).size;
    const total = BigInt(size);
    let offset = Number(req.offset);
    if (req.offset > total) throw new AgentError(`offset ${req.offset} is past the end of ${req.path} (${size} bytes)`, status.OUT_OF_RANGE);
    if (offset === size) {
      yield { offset: total, data: Buffer.alloc(0), totalSize: total };
      return;
    }
    // read straight into the encoded message (see EncodedFetchFileChunk), one chunk ahead: the
    // disk reads the next while grpc-js sends this one
    const readAt = async (at: number) => {
      const chunk = new EncodedFetchFileChunk(BigInt(at), Math.min(chunkBytes, size - at), total);
      await readFully(handle, chunk.data, at, req.path);
      return chunk;
    };
    let next: Promise<EncodedFetchFileChunk> | undefined = readAt(offset);
    try {
      while (next && !signal.aborted) {
        const chunk = await next;
        offset += chunk.data.length;
        next = offset < size ? readAt(offset) : undefined;
        yield chunk;
      }
    } finally {
      await next?.catch(() => undefined); // never close the file under a read
    }
  } finally {
    await handle.close();
  }
}

/**
 * Opens the file `req` names for `target`, after every check serving makes (FetchFile and the
 * bulk connections alike): a safe name ({@link assertSafeRelativePath}), listed as a PATH in the
 * index of a snapshot of the caller's own root, resolving (symlinks followed) inside that
 * snapshot's directory.
 */
export async function openServedFile(source: PublicationSource, target: string, req: Pick<FetchFileRequest, 'snapshotId' | 'path'>): Promise<FileHandle> {
  assertSafeRelativePath(req.path, 'file name');
  const publication = req.snapshotId === 0 ? await source.published(target) : await source.read(target, req.snapshotId);
  if (!publication) throw new NotFoundError(`no snapshot ${req.snapshotId || '(published)'} for ${target}`);
  if (!publication.paths.has(req.path)) {
    throw new NotFoundError(`${req.path} is not a file of snapshot ${publication.snapshot.id}`);
  }
  const file = await realpath(`${publication.dir}/${req.path}`).catch(() => {
    throw new NotFoundError(`${req.path} is missing from snapshot ${publication.snapshot.id}`);
  });
  if (!file.startsWith(publication.dir + sep)) {
    throw new AgentError(`${req.path} leaves snapshot ${publication.snapshot.id}`, status.PERMISSION_DENIED);
  }
  return open(file, 'r');
}

/** Fills `into` from `position` (a short read is retried); a file that ends early was changed under us. */
export async function readFully(handle: FileHandle, into: Buffer, position: number, path: string): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new AgentError(`${path} shrank while being served`, status.ABORTED);
    done += bytesRead;
  }
}
