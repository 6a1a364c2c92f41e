import type { FileHandle } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
import { status } from '@grpc/grpc-js';
import {
  AgentError,
  decodeBulkRequest,
  encodeBulkError,
  encodeBulkHeader,
  errorMessage,
  formatIdentity,
  identityFromSubject,
  PermissionDeniedError,
  SocketReader,
  toStatus,
  type Identity,
  type Logger,
} from '@binhost/shared';
import { openServedFile, readFully } from './fetch-file.js';
import type { PublicationSource } from '../delivery/publication-source.js';

/** Bytes per read from the file, and per write to the socket. @default 256 KiB */
const BULK_CHUNK_BYTES = 256 * 1024;
/** Buffers per connection: the disk fills some while TLS sends the others. @default 4 */
const BUFFERS = 4;
/** A bulk connection with no request for this long is closed. @default 5 min */
const BULK_IDLE_MS = 5 * 60_000;

/** Options of {@link serveBulk}. */
export interface BulkServeOptions {
  publications: PublicationSource;
  log: Logger;
  /** Cancels every transfer (host shutdown). */
  shutdown: AbortSignal;
}

/**
 * Serves one bulk-data connection (shared/grpc/bulk-protocol.ts): requests one after another, each
 * checked exactly as FetchFile checks it ({@link openServedFile}) for the target named by the
 * connection's verified client certificate. Only a target certificate may fetch; any other is
 * answered PERMISSION_DENIED and the connection closed.
 *
 * File bytes go from a few buffers of this connection straight to the TLS socket: a buffer is
 * refilled only after the socket has taken it (its write callback), so nothing is allocated per
 * chunk and memory stays at most {@link BUFFERS} × {@link BULK_CHUNK_BYTES} per connection (made
 * on first need: one for a connection that fetched only small files).
 */
export async function serveBulk(socket: TLSSocket, options: BulkServeOptions): Promise<void> {
  let identity: Identity;
  try {
    if (!socket.authorized) throw new PermissionDeniedError('client certificate not verified');
    identity = identityFromSubject(socket.getPeerCertificate().subject as unknown as Record<string, string>);
  } catch (err) {
    options.log.warn({ component: 'bulk', peer: socket.remoteAddress, err: errorMessage(err) }, 'unidentified caller refused');
    socket.end(encodeBulkError(status.PERMISSION_DENIED, errorMessage(err)));
    return;
  }
  const log = options.log.child({ component: 'bulk', caller: formatIdentity(identity) });
  if (identity.role !== 'target') {
    log.warn({ peer: socket.remoteAddress, required: 'target' }, 'permission denied');
    socket.end(encodeBulkError(status.PERMISSION_DENIED, `bulk transfer needs a target certificate; ${formatIdentity(identity)} may not use it`));
    return;
  }
  const stop = () => socket.destroy();
  options.shutdown.addEventListener('abort', stop, { once: true });
  socket.setTimeout(BULK_IDLE_MS, stop);
  const reader = new SocketReader(socket);
  const buffers: BufferPool = { free: [], allocated: 0 };
  try {
    for (;;) {
      const line = await reader.readLine();
      if (line === undefined) break;
      const req = decodeBulkRequest(line);
      let handle;
      try {
        handle = await openServedFile(options.publications, identity.name, req);
      } catch (err) {
        // refused like FetchFile refuses: the status and the message the peer may see
        const s = toStatus(err);
        if (s.code === status.INTERNAL) log.error({ err, path: req.path }, 'bulk fetch failed');
        socket.write(encodeBulkError(s.code, s.details));
        continue;
      }
      try {
        const size = (await handle.stat()).size;
        if (req.offset > BigInt(size)) {
          socket.write(encodeBulkError(status.OUT_OF_RANGE, `offset ${req.offset} is past the end of ${req.path} (${size} bytes)`));
          continue;
        }
        socket.write(encodeBulkHeader(Number(req.offset), size));
        await sendRange(socket, handle, Number(req.offset), size, req.path, buffers);
      } finally {
        await handle.close();
      }
    }
  } catch (err) {
    // the peer went away, sent garbage, or the file could not be read to its end: the connection
    // is closed, so the target sees a short file and resumes from what it holds
    if (!socket.destroyed) log.warn({ err: errorMessage(err) }, 'bulk connection closed');
    if (err instanceof AgentError && err.code === status.INVALID_ARGUMENT) socket.end(encodeBulkError(err.code, err.message));
    else socket.destroy();
  } finally {
    options.shutdown.removeEventListener('abort', stop);
    if (!socket.destroyed) socket.end();
  }
}

/** A connection's buffers, made on first need (a connection that only fetches small files holds one). */
interface BufferPool {
  free: Buffer[];
  allocated: number;
}

/** Writes bytes `[from, size)` of `handle` to the socket, reading ahead into the free buffers. */
async function sendRange(socket: TLSSocket, handle: FileHandle, from: number, size: number, path: string, pool: BufferPool): Promise<void> {
  const { free } = pool;
  let waitFree: (() => void) | undefined;
  const wake = () => {
    const w = waitFree;
    waitFree = undefined;
    w?.();
  };
  const until = async (ready: () => boolean) => {
    while (!ready() && !socket.destroyed) await new Promise<void>((resolve) => (waitFree = resolve));
  };
  socket.on('close', wake);
  try {
    for (let at = from; at < size; ) {
      await until(() => free.length > 0 || pool.allocated < BUFFERS);
      if (socket.destroyed) throw new AgentError('bulk peer went away', status.CANCELLED);
      const buf = free.pop() ?? (pool.allocated++, Buffer.allocUnsafe(BULK_CHUNK_BYTES));
      const piece = buf.subarray(0, Math.min(buf.length, size - at));
      try {
        await readFully(handle, piece, at, path);
      } catch (err) {
        free.push(buf);
        throw err;
      }
      at += piece.length;
      // the callback runs once the TLS socket no longer needs the buffer (also when it fails)
      socket.write(piece, () => (free.push(buf), wake()));
    }
    // all buffers back: every byte of this file has left, and the next file may reuse them
    await until(() => free.length === pool.allocated);
  } finally {
    socket.off('close', wake);
  }
}
