import type { Duplex } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { AgentError } from '../errors.js';

/**
 * The bulk-data protocol: FetchFile's bytes without gRPC's framing, on a connection of its own
 * that negotiated {@link BULK_ALPN} on the host's one listener, under the same mutual TLS.
 *
 * The target writes one request line, `{"snapshotId":N,"path":"…","offset":"N"}\n`; the host
 * answers one header line, `{"offset":"N","totalSize":"N"}\n` followed by exactly
 * `totalSize - offset` raw bytes of the file, or `{"code":N,"message":"…"}\n` (a gRPC status code
 * and the message the host would send over gRPC) and nothing else. Then the next request may
 * follow on the same connection. A host that cannot finish a file (it shrank, the disk failed)
 * closes the connection: the target sees a short file and resumes from what it holds.
 *
 * Why: per GiB, grpc-js re-assembles every message with `Buffer.concat` on the target and copies
 * every chunk into a fresh frame on the host, and the garbage of both costs more CPU than TLS
 * itself (bench/RESULTS.md). Here the host writes file bytes straight to the TLS socket from a
 * few reused buffers, and the target hashes and writes the pieces TLS hands it.
 */


/** What a bulk request asks for: FetchFileRequest's fields. */
export interface BulkRequest {
  snapshotId: number;
  path: string;
  offset: bigint;
}

/** Longest request or header line accepted. @default 8 KiB */
const BULK_LINE_LIMIT = 8 * 1024;

/** A bulk request line. */
export function encodeBulkRequest(req: BulkRequest): Buffer {
  return Buffer.from(JSON.stringify({ snapshotId: req.snapshotId, path: req.path, offset: String(req.offset) }) + '\n');
}

/** Parses a request line; anything else is INVALID_ARGUMENT. */
export function decodeBulkRequest(line: string): BulkRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new AgentError('bulk request is not JSON', status.INVALID_ARGUMENT);
  }
  const { snapshotId, path, offset } = (raw ?? {}) as Record<string, unknown>;
  if (typeof snapshotId !== 'number' || !Number.isInteger(snapshotId) || snapshotId < 0 || snapshotId > 0xffffffff) {
    throw new AgentError('bulk request: snapshotId must be a uint32', status.INVALID_ARGUMENT);
  }
  if (typeof path !== 'string') throw new AgentError('bulk request: path must be a string', status.INVALID_ARGUMENT);
  if (typeof offset !== 'string' || !/^\d{1,20}$/.test(offset)) throw new AgentError('bulk request: offset must be a decimal string', status.INVALID_ARGUMENT);
  return { snapshotId, path, offset: BigInt(offset) };
}

/** The header line before a file's bytes. */
export function encodeBulkHeader(offset: number, totalSize: number): Buffer {
  return Buffer.from(JSON.stringify({ offset: String(offset), totalSize: String(totalSize) }) + '\n');
}

/** The header line of a refused request. */
export function encodeBulkError(code: status, message: string): Buffer {
  return Buffer.from(JSON.stringify({ code, message }) + '\n');
}

/** A parsed header: the file's bytes follow, or the host refused with a status. */
export type BulkHeader = { offset: number; totalSize: number } | { code: status; message: string };

/** Parses a header line; a malformed one is a protocol error (DATA_LOSS). */
export function decodeBulkHeader(line: string): BulkHeader {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new AgentError('bulk header is not JSON', status.DATA_LOSS);
  }
  if (typeof raw['code'] === 'number' && typeof raw['message'] === 'string') return { code: raw['code'] as status, message: raw['message'] };
  const offset = Number(raw['offset']);
  const totalSize = Number(raw['totalSize']);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(totalSize) || offset < 0 || offset > totalSize) {
    throw new AgentError('bulk header has no valid offset and totalSize', status.DATA_LOSS);
  }
  return { offset, totalSize };
}

/**
 * Reads a socket in paused mode: lines, then raw pieces of a known length, as the bulk protocol
 * alternates them. One reader at a time.
 */
export class SocketReader {
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly socket: Duplex) {
    const notify = () => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    socket.on('readable', notify);
    socket.on('end', () => ((this.ended = true), notify()));
    socket.on('close', () => ((this.ended = true), notify()));
    socket.on('error', (err) => ((this.error = err), notify()));
  }

  /** The next bytes, at most `max`; undefined once the stream has ended. */
  async read(max: number): Promise<Buffer | undefined> {
    for (;;) {
      if (this.error) throw this.error;
      const piece = this.socket.read() as Buffer | null;
      if (piece) {
        if (piece.length <= max) return piece;
        this.socket.unshift(piece.subarray(max));
        return piece.subarray(0, max);
      }
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** The next line (without its newline); undefined at a clean end before it; throws past `limit`. */
  async readLine(limit = BULK_LINE_LIMIT): Promise<string | undefined> {
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      const piece = await this.read(limit + 1 - length);
      if (!piece) {
        if (length === 0) return undefined;
        throw new AgentError('bulk connection ended inside a line', status.UNAVAILABLE);
      }
      const nl = piece.indexOf(0x0a);
      if (nl >= 0) {
        if (nl + 1 < piece.length) this.socket.unshift(piece.subarray(nl + 1));
        parts.push(piece.subarray(0, nl));
        return Buffer.concat(parts).toString('utf8');
      }
      parts.push(piece);
      length += piece.length;
      if (length > limit) throw new AgentError(`bulk line longer than ${limit} bytes`, status.INVALID_ARGUMENT);
    }
  }
}
