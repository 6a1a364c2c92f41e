import { connect, type TLSSocket } from 'node:tls';
import { status } from '@grpc/grpc-js';
import {
  AgentError,
  BULK_ALPN,
  decodeBulkHeader,
  encodeBulkRequest,
  errorMessage,
  parseListenAddress,
  SocketReader,
  type FetchFileResponse,
  type Logger,
  type TlsMaterial,
} from '@binhost/shared';
import { FETCH_IDLE_TIMEOUT_MS, type SnapshotSource } from './snapshot-source.js';

/** Where and as whom bulk connections are made: the host connection's own address and certificate. */
export interface BulkDial {
  readonly address: string;
  /** The DNS name in the host certificate, checked against it. */
  readonly serverName: string;
  readonly tls: TlsMaterial;
}

/** Idle bulk connections kept for the next files (one per file in flight: mirror.ts lanes). @default 32 */
const MAX_IDLE = 32;
/** After a host answered without the bulk protocol, FetchFile is used this long before trying again. @default 10 min */
const NO_BULK_RETRY_MS = 10 * 60_000;

/** A bulk failure with the gRPC status it stands for: `isStatus` and the mirror's retries treat it as a gRPC error. */
export class BulkStatusError extends AgentError {
  override name = 'BulkStatusError';
  /** As grpc-js errors have it, so that `isStatus` recognises this one. */
  readonly details: string;
  constructor(message: string, code: status, options?: ErrorOptions) {
    super(message, code, options);
    this.details = message;
  }
}

/** The host does not speak the bulk protocol (an older host): use FetchFile. */
class NoBulkError extends Error {}

/** A {@link SnapshotSource} whose `fetch` uses bulk connections, with `close` for the idle ones. */
export interface BulkSnapshotSource extends SnapshotSource {
  /** Closes the idle bulk connections (the agent stops). */
  close(): void;
}

/**
 * A {@link SnapshotSource} that fetches files over bulk-data connections to the host (shared
 * grpc/bulk-protocol.ts): same listener, same mutual TLS and the same certificate as the gRPC
 * connection, and the same checks on the host, but the file's bytes arrive as TLS hands them over
 * instead of re-assembled gRPC messages. The index still comes over gRPC (`inner`), and so does
 * every file when the host does not offer the protocol.
 *
 * Connections are reused from file to file (up to {@link MAX_IDLE} idle, unreferenced so that an
 * idle agent can exit). What reaches the mirror is verified there exactly as before.
 */
export function bulkSnapshotSource(inner: SnapshotSource, dial: () => BulkDial | undefined, log: Logger): BulkSnapshotSource {
  const idle: TLSSocket[] = [];
  let noBulkUntil = 0;

  async function* viaBulk(d: BulkDial, snapshotId: number, path: string, offset: number, signal: AbortSignal): AsyncGenerator<FetchFileResponse> {
    const socket = await acquire(d, signal);
    socket.ref();
    const reader = readerOf(socket);
    const cancel = () => socket.destroy(new Error('cancelled'));
    signal.addEventListener('abort', cancel, { once: true });
    let reusable = false;
    try {
      socket.write(encodeBulkRequest({ snapshotId, path, offset: BigInt(offset) }));
      const line = await reader.readLine();
      if (line === undefined) throw new BulkStatusError('the host closed the bulk connection', status.UNAVAILABLE);
      const header = decodeBulkHeader(line);
      if ('code' in header) {
        reusable = true;
        throw new BulkStatusError(header.message, header.code);
      }
      const total = BigInt(header.totalSize);
      let at = header.offset;
      if (at === header.totalSize) yield { offset: total, data: Buffer.alloc(0), totalSize: total };
      while (at < header.totalSize) {
        const data = await reader.read(header.totalSize - at);
        if (!data) throw new BulkStatusError(`bulk stream ended at ${at} of ${header.totalSize} bytes`, status.UNAVAILABLE);
        yield { offset: BigInt(at), data, totalSize: total };
        at += data.length;
      }
      reusable = true;
    } catch (err) {
      if (err instanceof BulkStatusError || signal.aborted) throw err;
      // reset, idle timeout, TLS error: the host or the network, so retried (and resumed)
      throw new BulkStatusError(`bulk connection failed: ${errorMessage(err)}`, status.UNAVAILABLE, { cause: err });
    } finally {
      signal.removeEventListener('abort', cancel);
      // a file not read to its end leaves bytes on the connection: it cannot serve another
      if (reusable && !socket.destroyed && idle.length < MAX_IDLE) (socket.unref(), idle.push(socket));
      else socket.destroy();
    }
  }

  /** An idle connection still open, or a new one; failing to connect is a transport error. */
  async function acquire(d: BulkDial, signal: AbortSignal): Promise<TLSSocket> {
    for (let s = idle.pop(); s; s = idle.pop()) if (!s.destroyed) return s;
    try {
      return await open(d, signal);
    } catch (err) {
      if (err instanceof BulkStatusError || signal.aborted) throw err;
      throw new BulkStatusError(`bulk connection failed: ${errorMessage(err)}`, status.UNAVAILABLE, { cause: err });
    }
  }

  return {
    publication: (snapshotId, signal) => inner.publication(snapshotId, signal),
    async *fetch(snapshotId, path, offset, signal) {
      const d = Date.now() >= noBulkUntil ? dial() : undefined;
      if (!d) return yield* inner.fetch(snapshotId, path, offset, signal);
      try {
        return yield* viaBulk(d, snapshotId, path, offset, signal);
      } catch (err) {
        if (!(err instanceof BulkStatusError && err.cause instanceof NoBulkError)) throw err;
        noBulkUntil = Date.now() + NO_BULK_RETRY_MS;
        log.info({ err: errorMessage(err.cause) }, 'host has no bulk transfer, using FetchFile');
        return yield* inner.fetch(snapshotId, path, offset, signal);
      }
    },
    close() {
      for (const s of idle.splice(0)) s.destroy();
    },
  };
}

const readers = new WeakMap<TLSSocket, SocketReader>();
function readerOf(socket: TLSSocket): SocketReader {
  let r = readers.get(socket);
  if (!r) readers.set(socket, (r = new SocketReader(socket)));
  return r;
}

/** A new bulk connection, once TLS is up and the host agreed to the protocol. */
async function open(d: BulkDial, signal: AbortSignal): Promise<TLSSocket> {
  const { host, port } = parseListenAddress(d.address);
  const socket = connect({ host, port, servername: d.serverName, ca: d.tls.ca, cert: d.tls.cert, key: d.tls.key, ALPNProtocols: [BULK_ALPN] });
  // a stalled host is noticed like a stalled FetchFile stream, and the fetch resumed
  socket.setTimeout(FETCH_IDLE_TIMEOUT_MS, () => socket.destroy(new Error(`no message for ${FETCH_IDLE_TIMEOUT_MS} ms`)));
  readerOf(socket);
  const cancel = () => socket.destroy(new Error('cancelled'));
  signal.addEventListener('abort', cancel, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
  } catch (err) {
    socket.destroy();
    // OpenSSL's alert when the host offers only 'h2'
    if (/NO_APPLICATION_PROTOCOL/i.test(String((err as { code?: unknown }).code ?? errorMessage(err)))) throw new BulkStatusError('no bulk protocol', status.UNAVAILABLE, { cause: new NoBulkError(errorMessage(err)) });
    throw err;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
  if (socket.alpnProtocol !== BULK_ALPN) {
    socket.destroy();
    throw new BulkStatusError('no bulk protocol', status.UNAVAILABLE, { cause: new NoBulkError(`the host chose ${String(socket.alpnProtocol)}`) });
  }
  return socket;
}
