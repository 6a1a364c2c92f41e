import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { callUnary, FileKind, InstallOutcome, stateDigest, TargetState, type FileEntry } from '@binhost/shared';
import { spawnRunner } from '@binhost/agent-target';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { captureLog } from './helpers/capture-log.js';
import { stallingWriter } from './helpers/stalling-writer.js';
import { writeSnapshot, type SnapshotFile } from './helpers/publish-snapshot.js';

const FAKE_EMERGE = fileURLToPath(new URL('./fixtures/delivery/fake-emerge.mjs', import.meta.url));

/** A target state with one make.conf, and its digest. */
function stateWith(makeConf: string): TargetState {
  const files: FileEntry[] = [
    { path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(makeConf), linkTarget: '' },
  ];
  return TargetState.fromPartial({ digest: stateDigest(files), files, hostname: 'alpha' });
}

describe('delivery end to end (in-process agents on loopback)', () => {
  const h = useHarness();
  let host: StartedHost | undefined;
  let target: StartedTarget | undefined;
  const hello = { path: 'app-misc/hello/hello-1.0-1.gpkg.tar', data: randomBytes(20480) };
  const greet = { path: 'app-misc/greet/greet-1.0-1.gpkg.tar', data: randomBytes(4000) };
  const state = stateWith('CFLAGS="-O2 -march=znver3"\n');

  beforeEach(async () => {
    host = await h.startHost();
  });

  const start = async (policy: string, extra: Partial<Parameters<typeof h.startTarget>[0]> = {}) => {
    await mkdir(join(h.dir, 'alpha/root/etc/portage'), { recursive: true }); // a Portage system
    return h.startTarget({
      name: 'alpha',
      address: host!.address,
      collectState: async () => state,
      extra: `[install]\npolicy = "${policy}"\nemerge = ${JSON.stringify([process.execPath, FAKE_EMERGE])}\n`,
      ...extra,
    });
  };
  const vdbMd5 = (cpv: string) => readFile(join(target!.root, 'var/db/pkg', cpv, 'BINPKGMD5'), 'utf8').then((s) => s.trim(), () => '');
  const lastInstall = () => host!.daemon.installs.last('alpha');
  const publish = (id: number, files: SnapshotFile[], builtDigest = state.digest) =>
    writeSnapshot({ stateDir: host!.stateDir, root: 'alpha', id, files, builtDigest, publishFor: ['alpha'], daemon: host!.daemon });

  it('installs a published snapshot with no human step (auto), through the loopback endpoint, and reports it', async () => {
    await publish(1, [hello, greet]);
    target = await start('auto');
    const result = await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED && lastInstall(), { timeoutMs: 30_000, what: 'install reported',
    });
    expect(result.snapshotId).toBe(1);
    expect(result.plan?.packages.map((p) => p.cpv)).toEqual(['app-misc/hello-1.0', 'app-misc/greet-1.0']);
    expect(result.logTail.some((l) => l.includes('hello-1.0-1.gpkg.tar MD5 SHA1 size ;-)'))).toBe(true);
    expect(await vdbMd5('app-misc/hello-1.0')).toMatch(/^[0-9a-f]{32}$/);
    expect(host!.daemon.registry.get('alpha').installedSnapshotId).toBe(1);
    const binrepos = await readFile(join(target.root, 'etc/portage/binrepos.conf/binhost-agent.conf'), 'utf8');
    expect(binrepos).toContain(`sync-uri = http://127.0.0.1:${target.daemon.delivery!.port}\n`);
    expect(binrepos).toContain('verify-signature = true');

    // a new snapshot while connected: mirrored (only the new file), installed, the old one collected
    const hello2 = { path: 'app-misc/hello/hello-1.0-2.gpkg.tar', data: randomBytes(30000), cpv: 'app-misc/hello-1.0' };
    const snap = await publish(2, [hello2, greet]);
    host!.daemon.hub.publish('alpha', { $case: 'snapshotPublished', value: snap });
    await waitFor(async () => (await lastInstall())?.snapshotId === 2, { timeoutMs: 30_000, what: 'snapshot 2 installed' });
    expect(await vdbMd5('app-misc/hello-1.0')).not.toBe('');
    const mirrorDir = join(h.dir, 'alpha/target-state/mirror');
    expect(await readdir(join(mirrorDir, 'snapshots'))).toEqual(['2']);
    expect(await readdir(join(mirrorDir, 'objects'))).toHaveLength(2);

    const admin = await clientsFor(h.pki, host!.address, 'admin', 'root');
    try {
      const t = await callUnary(admin.admin.getTarget.bind(admin.admin), { name: 'alpha' });
      expect(t.summary?.installedSnapshotId).toBe(2);
      expect(t.summary?.builtDigest).toBe(state.digest);
      expect(t.lastInstall?.outcome).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);
    } finally {
      admin.close();
    }
  });

  it('under confirm, reports the plan and installs only on sync --yes', async () => {
    await publish(1, [hello]);
    target = await start('confirm');
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_AWAITING_CONFIRMATION, { timeoutMs: 30_000, what: 'plan reported' });
    expect((await lastInstall())?.plan?.binaryOnly).toBe(true);
    expect(await vdbMd5('app-misc/hello-1.0')).toBe('');
    const admin = await clientsFor(h.pki, host!.address, 'admin', 'root');
    try {
      const res = await callUnary(admin.admin.triggerSync.bind(admin.admin), { target: 'alpha', confirmed: true, args: [] });
      expect(res.delivered).toBe(true);
      await waitFor(async () => (await lastInstall())?.requestId === res.requestId && (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, { timeoutMs: 30_000, what: 'confirmed install',
      });
      expect(await vdbMd5('app-misc/hello-1.0')).not.toBe('');
    } finally {
      admin.close();
    }
  });

  it('refuses to install when the target config drifted from the built one, naming the files', async () => {
    const built = stateWith('CFLAGS="-O2"\n');
    await host!.daemon.registry.acceptState('alpha', built); // the state the snapshot was built from
    await publish(1, [hello], built.digest);
    target = await start('auto'); // reports `state`, whose make.conf differs
    const result = await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_REFUSED_DRIFT && lastInstall(), { timeoutMs: 30_000, what: 'drift refusal',
    });
    expect(result.error).toContain(built.digest);
    expect(result.differingFiles).toEqual(['etc/portage/make.conf']);
    expect(await vdbMd5('app-misc/hello-1.0')).toBe('');
  });

  it('resumes from the offset after the host is killed mid-transfer, and installs', async () => {
    // larger than what the sockets can hold in flight (bulk transfers use TCP's own buffers, up to
    // tcp_rmem's 32 MiB on loopback), so that stopping the host really cuts the transfer
    const big = { path: 'app-misc/big/big-1.0-1.gpkg.tar', data: randomBytes(48 * 1024 * 1024) };
    await publish(1, [big]);
    const slow = stallingWriter(2 * 1024 * 1024); // holds the transfer while the host goes down
    const cap = captureLog('info');
    const port = host!.port;
    target = await start('auto', { log: cap.log, delivery: { mirror: { openWriter: slow.open, backoff: { initialMs: 20, maxMs: 100 } } } });
    await waitFor(() => slow.stalled(), { timeoutMs: 30_000, what: 'transfer under way' });
    await host!.stop();
    host = undefined;
    slow.release();
    await waitFor(() => cap.lines().some((l) => l['msg'] === 'transfer interrupted, resuming'), { timeoutMs: 30_000, what: 'interruption noticed' });
    host = await h.startHost({ port });
    await waitFor(async () => (await host!.daemon.installs.last('alpha'))?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, {
      what: 'installed after restart',
      timeoutMs: 30_000,
    });
    const resumed = cap.lines().find((l) => l['msg'] === 'resuming download');
    expect(Number(resumed?.['offset'])).toBeGreaterThan(2 * 1024 * 1024);
    expect(await vdbMd5('app-misc/big-1.0')).toMatch(/^[0-9a-f]{32}$/);
    const objects = join(h.dir, 'alpha/target-state/mirror/objects');
    expect((await stat(join(objects, (await readdir(objects))[0]!))).size).toBe(big.data.length);
  });

  it('refuses a package tampered with on the host disk: nothing is mirrored as current, nothing installed', async () => {
    await publish(1, [hello, greet]);
    const file = join(host!.stateDir, 'roots/alpha.meta/snapshots/1', greet.path);
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0x01; // same size, one bit flipped, index unchanged
    await writeFile(file, bytes);
    target = await start('auto');
    const result = await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_MIRROR_FAILED && lastInstall(), { timeoutMs: 30_000, what: 'mirror refusal',
    });
    expect(result.error).toMatch(/app-misc\/greet\/greet-1\.0-1\.gpkg\.tar failed verification \((MD5|SHA1|SHA256) /);
    expect(await vdbMd5('app-misc/hello-1.0')).toBe('');
    const res = await fetch(`http://127.0.0.1:${target.daemon.delivery!.port}/Packages`);
    expect(res.status).toBe(404); // no index was ever made visible
  });

  it('keeps serving the installed snapshot to a local emerge while the host is down', async () => {
    await publish(1, [hello]);
    target = await start('auto');
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, { timeoutMs: 30_000, what: 'installed' });
    await host!.stop();
    host = undefined;
    await waitFor(() => !target!.daemon.connection?.connected, { timeoutMs: 30_000, what: 'target noticed' });
    // a local, human-run emerge on the target: reads the mirror through binrepos.conf, no lock held by the agent
    const local = await spawnRunner.run({
      argv: [process.execPath, FAKE_EMERGE, '--pretend', '--getbinpkgonly', 'app-misc/hello'],
      env: { ...process.env, ROOT: target.root, PORTAGE_CONFIGROOT: target.root },
    });
    expect(local.exitCode).toBe(0);
    expect(local.tail.join('\n')).toContain('These are the packages that would be merged');
    const res = await fetch(`http://127.0.0.1:${target.daemon.delivery!.port}/${hello.path}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(hello.data);
  });
});
