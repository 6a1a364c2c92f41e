import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parsePackagesIndex, Snapshot } from '@binhost/shared';
import { HostLayout, type HostDaemon } from '@binhost/agent-host';

/** A file of a test snapshot: PATH and bytes (or a size for a generated sparse-free file). */
export interface SnapshotFile {
  path: string;
  data: Buffer;
  cpv?: string;
}

/** The `Packages` text for `files`, with real SIZE/MD5/SHA1, in Portage's layout. */
export function packagesIndex(files: readonly SnapshotFile[]): string {
  const blocks = files.map((f) => {
    const cpv = f.cpv ?? f.path.replace(/-\d+\.gpkg\.tar$/, '').replace(/^([^/]+)\/[^/]+\//, '$1/');
    return [
      `BUILD_ID: 1`,
      `CPV: ${cpv}`,
      `MD5: ${createHash('md5').update(f.data).digest('hex')}`,
      `PATH: ${f.path}`,
      `SHA1: ${createHash('sha1').update(f.data).digest('hex')}`,
      `SIZE: ${f.data.length}`,
      '',
    ].join('\n');
  });
  return `ARCH: amd64\nPACKAGES: ${files.length}\nVERSION: 0\n\n${blocks.map((b) => b + '\n').join('')}`;
}

/**
 * Writes snapshot `id` of `root` into a host state dir exactly as the host's snapshot store lays
 * it out (HostLayout: Packages, the files, snapshot.json) and, with `publishFor`, points those
 * targets' published.json at it (through `daemon`'s snapshot store when the host is running).
 */
export async function writeSnapshot(options: {
  stateDir: string;
  root: string;
  id: number;
  files: readonly SnapshotFile[];
  builtDigest?: string;
  publishFor?: readonly string[];
  /** Index text to write instead of the generated one (tampering tests). */
  index?: string;
  /** A running host: publish through its snapshot store (as a build would) instead of writing the pointer. */
  daemon?: HostDaemon;
}): Promise<Snapshot> {
  const layout = new HostLayout(options.stateDir);
  const dir = layout.snapshotDir(options.root, options.id);
  await mkdir(dir, { recursive: true });
  for (const f of options.files) {
    await mkdir(dirname(join(dir, f.path)), { recursive: true });
    await writeFile(join(dir, f.path), f.data);
  }
  await writeFile(join(dir, 'Packages'), options.index ?? packagesIndex(options.files));
  const snapshot = Snapshot.fromPartial({
    id: options.id,
    root: options.root,
    builtDigest: options.builtDigest ?? '',
    createdAt: new Date(),
    // as the host counts them: the entries of the index it copied
    packageCount: options.index === undefined ? options.files.length : parsePackagesIndex(options.index).packages.length,
    totalBytes: BigInt(options.files.reduce((n, f) => n + f.data.length, 0)),
    buildId: options.id,
  });
  await writeFile(join(dir, 'snapshot.json'), JSON.stringify(Snapshot.toJSON(snapshot)));
  for (const t of options.publishFor ?? []) {
    if (options.daemon) {
      await options.daemon.builds.snapshots.publish(t, options.root, options.id);
      continue;
    }
    // a host that is not running yet: leave what it leaves, a known target with a pointer
    await mkdir(layout.targetDir(t), { recursive: true });
    await writeFile(join(layout.targetDir(t), 'record.json'), JSON.stringify({ name: t }));
    await writeFile(layout.publishedFile(t), JSON.stringify({ root: options.root, snapshotId: options.id }));
  }
  return snapshot;
}
