import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { dispatch } from '@binhost/cli';
import { BuildStatus, parsePackagesIndex } from '@binhost/shared';
import { listTarMembers, readGpkg } from './helpers/gpkg.js';
import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import { waitFor } from './helpers/wait-for.js';
import { EMERGE_STAND_IN, TEST_REPO } from './helpers/emerge-stand-in.js';
import { buildTar, syntheticStage3 } from './helpers/tar-builder.js';

/** metadata/KEY of a gpkg, through the system zstd. */
function gpkgMetadata(gpkg: Buffer, key: string): string | undefined {
  const info = readGpkg(gpkg);
  const meta = info.members.find((m) => m.name === 'metadata.tar.zst')!;
  const tar = spawnSync('zstd', ['-dc'], { input: gpkg.subarray(meta.offset, meta.offset + meta.size) }).stdout;
  const member = listTarMembers(tar).find((m) => m.path === `metadata/${key}`);
  return member ? tar.subarray(member.offset, member.offset + member.size).toString('utf8').trim() : undefined;
}

describe('target add, then the automatic loop, with the stand-in emerge', () => {
  const h = useHarness({ prefix: 'binhost-roots-auto-' });

  it("builds in the new root with the target's resolved -march, never native, and publishes", async () => {
    const host = await h.startHost({
      extra: `[build]\nemerge = [${JSON.stringify(EMERGE_STAND_IN)}]\nrepository = ${JSON.stringify(TEST_REPO)}\n[signing]\nenabled = false\n`,
    });
    // The target's own tree: -march=native through COMMON_FLAGS, a binhost of its own, @world = hello.
    const root = join(h.dir, 'alpha', 'root');
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    await mkdir(join(root, 'var/lib/portage'), { recursive: true });
    await writeFile(join(root, 'etc/portage/make.conf'), 'COMMON_FLAGS="-march=native -O2 -pipe"\nCFLAGS="${COMMON_FLAGS}"\nFEATURES="getbinpkg"\n');
    await writeFile(join(root, 'etc/portage/binrepos.conf'), '[me]\nsync-uri = https://binhost.example/\n');
    await writeFile(join(root, 'var/lib/portage/world'), 'app-misc/hello\n');
    await symlink('../../var/db/repos/test/profiles/default/linux/amd64/harness', join(root, 'etc/portage/make.profile'));
    await h.startTarget({ name: 'alpha', address: host.address });
    const state = await waitFor(() => host.daemon.registry.store.readState('alpha'), { what: "alpha's state on the host" });
    expect(state.nativeFlags?.known).toBe(true);
    // No root yet: the automatic loop refused and said how to make one.
    await waitFor(() => host.daemon.registry.get('alpha').lastError.includes('binhostctl target add alpha'), { what: 'refusal' });

    const stage3 = join(h.dir, 'stage3.tar');
    await writeFile(stage3, buildTar(syntheticStage3()));
    const tls = await h.pki.files('admin', 'root');
    const adminConfig = join(h.dir, 'admin.toml');
    await writeFile(adminConfig, `host = "127.0.0.1:${host.port}"\nserver_name = "${TEST_SERVER_NAME}"\n[tls]\nca = ${JSON.stringify(tls.ca)}\ncert = ${JSON.stringify(tls.cert)}\nkey = ${JSON.stringify(tls.key)}\n`);
    const err: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (err.push(c.toString()), cb()) });
    expect(await dispatch([`--config=${adminConfig}`, 'target', 'add', 'alpha', '--stage3', stage3], { stdout: sink, stderr: sink })).toBe(0);
    // the refusal is over once the root exists: status shows no stale "does not exist" during the first build
    expect(host.daemon.registry.get('alpha').lastError).toBe('');

    const build = await waitFor(
      () => {
        const b = host.daemon.builds.list('alpha', 1)[0];
        return b && b.status !== BuildStatus.BUILD_STATUS_QUEUED && b.status !== BuildStatus.BUILD_STATUS_RUNNING ? b : undefined;
      },
      { what: 'the automatic build to finish', timeoutMs: 60_000 },
    );
    expect(build.error).toBe('');
    expect(build.status).toBe(BuildStatus.BUILD_STATUS_SUCCEEDED);
    expect(build.root).toBe('alpha');
    expect(build.configDigest).toBe(state.digest);
    expect(build.snapshotId).toBeGreaterThan(0);

    // What the root was configured with, and what the package was built with.
    const layout = host.daemon.layout;
    const makeConf = await readFile(join(layout.rootDir('alpha'), 'etc/portage/make.conf'), 'utf8');
    const march = `-march=${state.nativeFlags!.march}`;
    expect(makeConf).toContain(`COMMON_FLAGS="${march} `);
    const snapshot = layout.snapshotDir('alpha', build.snapshotId);
    const index = parsePackagesIndex(await readFile(join(snapshot, 'Packages'), 'utf8'));
    const field = (e: ReadonlyArray<readonly [string, string]>, key: string) => e.find(([k]) => k === key)?.[1];
    const hello = index.packages.find((p) => field(p, 'CPV') === 'app-misc/hello-1.0');
    expect(hello).toBeDefined();
    const gpkg = await readFile(join(snapshot, field(hello!, 'PATH')!));
    const cflags = gpkgMetadata(gpkg, 'CFLAGS')!;
    expect(cflags.split(' ')).toContain(march);
    expect(cflags).not.toContain('native');
    const features = gpkgMetadata(gpkg, 'FEATURES')!;
    expect(features).toContain('buildpkg');
    expect(features).not.toContain('getbinpkg');
  }, 90_000);
});
