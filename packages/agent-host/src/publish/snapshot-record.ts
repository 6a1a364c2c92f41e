import { join } from 'node:path';
import { assertValidName, parsePackagesIndex, Snapshot, type PackagesIndex } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import { parseJsonObject, readRecord, readRecordSync } from '../registry/damaged-records.js';

/**
 * Reading the files of a snapshot and of a target's publication as records that may be damaged
 * (see registry/damaged-records.ts): each is checked against what the host wrote, and a damaged
 * one is a DamagedRecordError naming the file and what to do.
 */

/** `targets/<t>/published.json` */
export interface PublishedPointer {
  root: string;
  snapshotId: number;
}

/** What to do about a damaged file of snapshot `id` of `root`. */
function snapshotRemedy(layout: HostLayout, root: string, id: number): string {
  return (
    `publish another snapshot to its targets (binhostctl publish TARGET --snapshot ID) or rebuild (binhostctl build TARGET), ` +
    `then delete ${layout.snapshotDir(root, id)}`
  );
}

/** Checks a `snapshot.json`: a Snapshot whose id and root are those of its directory. */
function parseSnapshot(root: string, id: number): (bytes: Buffer) => Snapshot {
  return (bytes) => {
    const raw = parseJsonObject(bytes);
    const snapshot = Snapshot.fromJSON(raw);
    if (snapshot.id !== id || snapshot.root !== root) throw new Error(`names snapshot ${snapshot.id} of root "${snapshot.root}", not ${id} of "${root}"`);
    if (!/^(sha256:[0-9a-f]+)?$/.test(snapshot.builtDigest)) throw new Error(`builtDigest is not a digest`);
    return snapshot;
  };
}

/** Path of snapshot `id`'s record. */
function snapshotFile(layout: HostLayout, root: string, id: number): string {
  return join(layout.snapshotDir(root, id), 'snapshot.json');
}

/** Snapshot `id` of `root`, undefined when it does not exist. */
export function readSnapshot(layout: HostLayout, root: string, id: number): Promise<Snapshot | undefined> {
  return readRecord(snapshotFile(layout, root, id), parseSnapshot(root, id), snapshotRemedy(layout, root, id));
}

/** {@link readSnapshot}, synchronously (status summaries). */
export function readSnapshotSync(layout: HostLayout, root: string, id: number): Snapshot | undefined {
  return readRecordSync(snapshotFile(layout, root, id), parseSnapshot(root, id), snapshotRemedy(layout, root, id));
}

/**
 * The `Packages` index of a snapshot, byte for byte and parsed; it must end as Portage ends it and
 * list as many packages as the snapshot says it holds (a truncated index would silently serve fewer).
 */
export async function readSnapshotIndex(
  layout: HostLayout,
  snapshot: Snapshot,
): Promise<{ bytes: Buffer; index: PackagesIndex } | undefined> {
  const file = join(layout.snapshotDir(snapshot.root, snapshot.id), 'Packages');
  const parse = (bytes: Buffer) => {
    const text = bytes.toString('utf8');
    // Portage ends every block, the header's included, with a blank line: a file cut short does not
    if (!text.endsWith('\n\n')) throw new Error('does not end with a blank line (truncated)');
    const index = parsePackagesIndex(text, 'Packages');
    if (index.packages.length !== snapshot.packageCount) {
      throw new Error(`lists ${index.packages.length} packages, the snapshot holds ${snapshot.packageCount} (truncated or corrupt)`);
    }
    return { bytes, index };
  };
  return readRecord(file, parse, snapshotRemedy(layout, snapshot.root, snapshot.id));
}

/** The snapshot published for `target`, undefined when none is. */
export function readPublishedPointer(layout: HostLayout, target: string): Promise<PublishedPointer | undefined> {
  const remedy = `publish a snapshot to ${target} again: binhostctl publish ${target} --snapshot ID (binhostctl snapshots ${target} lists them)`;
  return readRecord(layout.publishedFile(target), parsePointer, remedy);
}

function parsePointer(bytes: Buffer): PublishedPointer {
  const p = parseJsonObject(bytes);
  const { root, snapshotId } = p;
  if (typeof root !== 'string' || typeof snapshotId !== 'number' || !Number.isInteger(snapshotId) || snapshotId <= 0) {
    throw new Error('expected {"root","snapshotId"}');
  }
  assertValidName(root, 'root name');
  return { root, snapshotId };
}
