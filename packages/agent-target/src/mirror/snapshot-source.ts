import { callServerStream, callUnary, type FetchFileResponse, type FileDigest, type Snapshot, type TargetServiceClient } from '@binhost/shared';

/** Where the mirror reads snapshots from: the host, over the mutual-TLS connection. */
export interface SnapshotSource {
  /**
   * The snapshot (0: the one published for this target), its index bytes and the SHA-256 the host
   * recorded for its files (none for older snapshots).
   */
  publication(snapshotId: number, signal: AbortSignal): Promise<{ snapshot: Snapshot; indexBytes: Buffer; fileDigests?: readonly FileDigest[] }>;
  /** The bytes of `path` in snapshot `snapshotId` from `offset`, in chunks. */
  fetch(snapshotId: number, path: string, offset: number, signal: AbortSignal): AsyncIterable<FetchFileResponse>;
}

/** Per-message idle limit of a FetchFile stream: a stalled host is noticed and the fetch resumed. @default 60 s */
export const FETCH_IDLE_TIMEOUT_MS = 60_000;

/** {@link SnapshotSource} over TargetService (GetPublication, FetchFile). */
export function grpcSnapshotSource(client: () => TargetServiceClient): SnapshotSource {
  return {
    async publication(snapshotId, signal) {
      const c = client();
      const res = await callUnary(c.getPublication.bind(c), { snapshotId }, { deadlineMs: 60_000, signal });
      if (!res.snapshot) throw new Error('host answered GetPublication without a snapshot');
      return { snapshot: res.snapshot, indexBytes: Buffer.from(res.packagesIndex), fileDigests: res.fileDigests };
    },
    fetch(snapshotId, path, offset, signal) {
      const c = client();
      // no overall deadline: a 4 GiB file takes what it takes; the idle timeout catches a stall
      return callServerStream(c.fetchFile.bind(c), { snapshotId, path, offset: BigInt(offset) }, { signal, idleTimeoutMs: FETCH_IDLE_TIMEOUT_MS });
    },
  };
}
