import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { FileKind, InstallOutcome, stateDigest, TargetState } from '@binhost/shared';
import { dispatch } from '@binhost/cli';
import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { waitFor } from './helpers/wait-for.js';
import { writeSnapshot, type SnapshotFile } from './helpers/publish-snapshot.js';

const FAKE_EMERGE = fileURLToPath(new URL('./fixtures/delivery/fake-emerge.mjs', import.meta.url));
const files = [{ path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from('USE="x"\n'), linkTarget: '' }];
const state = TargetState.fromPartial({ digest: stateDigest(files), files, hostname: 'alpha' });

describe('TriggerSync for a target that is not connected', () => {
  const h = useHarness();
  let host: StartedHost | undefined;
  let target: StartedTarget | undefined;
  let adminToml: string;

  beforeEach(async () => {
    host = await h.startHost();
    const a = await h.pki.files('admin', 'root');
    adminToml = join(h.dir, 'admin.toml');
    await writeFile(adminToml, `host = "127.0.0.1:${host.port}"\nserver_name = "${TEST_SERVER_NAME}"\n[tls]\nca = "${a.ca}"\ncert = "${a.cert}"\nkey = "${a.key}"\n`);
  });

  const startAlpha = async () => {
    await mkdir(join(h.dir, 'alpha/root/etc/portage'), { recursive: true });
    return h.startTarget({
      name: 'alpha',
      address: host!.address,
      collectState: async () => state,
      extra: `[install]\npolicy = "confirm"\nemerge = ${JSON.stringify([process.execPath, FAKE_EMERGE])}\n`,
    });
  };
  const publish = (id: number, pkgs: SnapshotFile[]) =>
    writeSnapshot({ stateDir: host!.stateDir, root: 'alpha', id, files: pkgs, builtDigest: state.digest, publishFor: ['alpha'], daemon: host!.daemon });
  const lastInstall = () => host!.daemon.installs.last('alpha');
  const cli = async (...args: string[]) => {
    const chunks: string[] = [];
    const out = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
    const code = await dispatch([`--config=${adminToml}`, ...args], { stdout: out, stderr: out });
    return { code, out: chunks.join('') };
  };

  it('queues `sync --yes` while the target is stopped, keeps it over a host restart, and installs on reconnect', async () => {
    await publish(1, [{ path: 'app-misc/hello/hello-1.0-1.gpkg.tar', data: randomBytes(20_000) }]);
    target = await startAlpha();
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_AWAITING_CONFIRMATION, { timeoutMs: 30_000, what: 'plan reported' });
    await target.stop();
    target = undefined;
    await waitFor(() => !host!.daemon.registry.isConnected('alpha'), { timeoutMs: 30_000, what: 'alpha gone' });

    const sync = await cli('sync', 'alpha', '--yes');
    expect(sync.code).toBe(0);
    const queued = /^alpha is not connected: sync request ([0-9a-f-]{36}) is queued for its next connection, install confirmed\n$/.exec(sync.out);
    expect(queued, sync.out).not.toBeNull();
    const requestId = queued![1]!;
    const json = await cli('--json', 'sync', 'alpha', '--yes'); // a newer request replaces it
    const newer = JSON.parse(json.out) as { version: number; target: string; requestId: string; delivered: boolean; confirmed: boolean };
    expect(newer).toMatchObject({ version: 1, target: 'alpha', delivered: false, confirmed: true });
    expect(newer.requestId).not.toBe(requestId);
    // status tells the admin the request is waiting
    expect((await cli('status', 'alpha')).out).toMatch(/^alpha\s+disconnected, sync --yes queued\s/m);
    const waiting = (JSON.parse((await cli('--json', 'status', 'alpha')).out) as { targets: { queuedSync: { requestId: string; confirmed: boolean } | null }[] }).targets;
    expect(waiting[0]?.queuedSync).toEqual({ requestId: newer.requestId, confirmed: true });

    // a build publishes snapshot 2 while alpha is away, then the host restarts
    await publish(2, [{ path: 'app-misc/hello/hello-2.0-1.gpkg.tar', data: randomBytes(30_000) }]);
    const port = host!.port;
    await host!.stop();
    host = await h.startHost({ port });
    expect(host.daemon.registry.get('alpha').pendingSync?.requestId).toBe(newer.requestId);

    // alpha comes back: no further admin call, the queued confirmation installs snapshot 2
    target = await startAlpha();
    const result = await waitFor(async () => (await lastInstall())?.requestId === newer.requestId && lastInstall(), { timeoutMs: 30_000, what: 'queued request ran' });
    expect(result.outcome).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);
    expect(result.snapshotId).toBe(2);
    expect(await readFile(join(target.root, 'var/db/pkg/app-misc/hello-2.0/BINPKGMD5'), 'utf8')).toMatch(/^[0-9a-f]{32}/);
    expect(host.daemon.registry.get('alpha').pendingSync).toBeUndefined();
    const record = JSON.parse(await readFile(join(host.stateDir, 'targets/alpha/record.json'), 'utf8')) as Record<string, unknown>;
    expect(record['pendingSync']).toBeUndefined();
    const after = (JSON.parse((await cli('--json', 'status', 'alpha')).out) as { targets: { connected: boolean; queuedSync: { requestId: string } | null }[] }).targets;
    expect(after[0]?.connected).toBe(true);
    expect(after[0]?.queuedSync).toBeNull();
  });
});
