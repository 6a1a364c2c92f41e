import { createHash, randomBytes } from 'node:crypto';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { beforeEach, describe, expect, it } from 'vitest';
import { callServerStream, callUnary, isStatus, type FetchFileResponse } from '@binhost/shared';
import { HostLayout, writeSnapshotDigests } from '@binhost/agent-host';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import { clientsFor } from './helpers/clients.js';
import { packagesIndex, writeSnapshot } from './helpers/publish-snapshot.js';

describe('TargetService serving (GetPublication, FetchFile)', () => {
  const h = useHarness();
  let host: StartedHost;
  const big = { path: 'app-misc/big/big-1.0-1.gpkg.tar', data: randomBytes(700 * 1024 + 13) };
  const small = { path: 'app-misc/small/small-1.0-1.gpkg.tar', data: randomBytes(10) };

  beforeEach(async () => {
    host = await h.startHost();
    await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id: 1, files: [small] });
    await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id: 2, files: [big, small], builtDigest: 'sha256:' + 'a'.repeat(64), publishFor: ['alpha'], daemon: host.daemon });
  });

  const fetchAll = async (client: Awaited<ReturnType<typeof clientsFor>>, req: { snapshotId: number; path: string; offset: bigint }) => {
    const out: FetchFileResponse[] = [];
    for await (const m of callServerStream(client.target.fetchFile.bind(client.target), req, { deadlineMs: 10_000 })) out.push(m);
    return out;
  };

  it('serves the caller its published snapshot, an older one of its root, and files in chunks from an offset', async () => {
    const alpha = await clientsFor(h.pki, host.address, 'target', 'alpha');
    try {
      const pub = await callUnary(alpha.target.getPublication.bind(alpha.target), { snapshotId: 0 });
      expect(pub.snapshot?.id).toBe(2);
      expect(pub.snapshot?.builtDigest).toBe('sha256:' + 'a'.repeat(64));
      expect(Buffer.from(pub.packagesIndex).toString()).toBe(packagesIndex([big, small]));
      expect(pub.fileDigests).toEqual([]); // laid out by hand, as before the host recorded digests
      await writeSnapshotDigests(new HostLayout(host.stateDir).snapshotDir('alpha', 1));
      const older = await callUnary(alpha.target.getPublication.bind(alpha.target), { snapshotId: 1 });
      expect(older.snapshot?.id).toBe(1);
      const sha256 = createHash('sha256').update(small.data).digest();
      expect(older.fileDigests.map((d) => ({ ...d, sha256: Buffer.from(d.sha256) }))).toEqual([{ path: small.path, size: 10n, sha256 }]);

      const chunks = await fetchAll(alpha, { snapshotId: 2, path: big.path, offset: 0n });
      expect(chunks.length).toBe(3); // 256 KiB chunks
      expect(chunks.every((c) => c.totalSize === BigInt(big.data.length))).toBe(true);
      // Buffer.equals: vitest's element-wise toEqual takes seconds on megabytes
      expect(Buffer.concat(chunks.map((c) => c.data)).equals(big.data)).toBe(true);
      const resumed = await fetchAll(alpha, { snapshotId: 2, path: big.path, offset: 500_000n });
      expect(resumed[0]?.offset).toBe(500_000n);
      expect(Buffer.concat(resumed.map((c) => c.data)).equals(big.data.subarray(500_000))).toBe(true);
    } finally {
      alpha.close();
    }
  });

  it('refuses names that are unsafe, not in the index, or escape the snapshot, and other targets', async () => {
    const layout = new HostLayout(host.stateDir);
    // a PATH listed in an index that is a symlink out of the snapshot
    const escaping = { path: 'app-misc/esc/esc-1.0-1.gpkg.tar', data: Buffer.from('x') };
    await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id: 4, files: [], index: packagesIndex([{ ...escaping, path: 'escape-link' }]) });
    await symlink('/etc/passwd', join(layout.snapshotDir('alpha', 4), 'escape-link'));
    const alpha = await clientsFor(h.pki, host.address, 'target', 'alpha');
    const beta = await clientsFor(h.pki, host.address, 'target', 'beta');
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (isStatus(e, status.INVALID_ARGUMENT) ? 'invalid' : isStatus(e, status.NOT_FOUND) ? 'not-found' : isStatus(e, status.PERMISSION_DENIED) ? 'denied' : isStatus(e, status.OUT_OF_RANGE) ? 'range' : String(e)));
    try {
      expect(await code(fetchAll(alpha, { snapshotId: 2, path: '../../etc/shadow', offset: 0n }))).toBe('invalid');
      expect(await code(fetchAll(alpha, { snapshotId: 2, path: '/etc/passwd', offset: 0n }))).toBe('invalid');
      expect(await code(fetchAll(alpha, { snapshotId: 2, path: 'Packages', offset: 0n }))).toBe('not-found');
      expect(await code(fetchAll(alpha, { snapshotId: 2, path: 'snapshot.json', offset: 0n }))).toBe('not-found');
      expect(await code(fetchAll(alpha, { snapshotId: 1, path: big.path, offset: 0n }))).toBe('not-found'); // not in snapshot 1
      expect(await code(fetchAll(alpha, { snapshotId: 4, path: 'escape-link', offset: 0n }))).toBe('denied');
      expect(await code(fetchAll(alpha, { snapshotId: 2, path: small.path, offset: 11n }))).toBe('range');
      expect(await code(callUnary(beta.target.getPublication.bind(beta.target), { snapshotId: 0 }))).toBe('not-found');
      expect(await code(fetchAll(beta, { snapshotId: 2, path: small.path, offset: 0n }))).toBe('not-found');
    } finally {
      alpha.close();
      beta.close();
    }
  });
});
