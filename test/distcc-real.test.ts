import { execFile } from 'node:child_process';
import { copyFile, readdir, readFile, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BuildStatus, createConfigReloader, indexValue, loadHostConfig, parsePackagesIndex, silentLogger, type Build } from '@binhost/shared';
import { readGpkg } from './helpers/gpkg.js';
import { applyHostConfig, HOST_LIVE_KEYS } from '@binhost/agent-host';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import { waitFor } from './helpers/wait-for.js';
import { binhostctl } from './helpers/admin-cli.js';
import { buildTar, syntheticStage3 } from './helpers/tar-builder.js';
import { TEST_REPO } from './helpers/emerge-stand-in.js';
import { makePortageMachine, makeTargetSystem, type PortageMachine } from './helpers/real-portage.js';
import { freePort, startDistccd, type Distccd } from './helpers/distccd.js';

const run = promisify(execFile);
const CALC_FILES = join(TEST_REPO, 'app-misc/calc/files');

/**
 * Distributed compiles with real Portage 3.0.83 and a real distccd (Debian distcc 3.4) on a
 * loopback port, in the build sandbox: Portage's own FEATURES=distcc, the helpers from host.toml.
 * The first helper in the list is down: the build falls back for what distcc sent there, leaves
 * it alone afterwards (backoff), and says so; the other compile jobs reach the live helper, whose
 * own log shows them, and the objects are those of a local compile with the same resolved flags.
 */
describe('real Portage with distcc helpers', () => {
  const h = useHarness({ scope: 'all', prefix: 'binhost-distcc-real-' });
  let machine: PortageMachine;
  let helper: Distccd;
  let deadPort: number;
  let host: StartedHost;

  beforeAll(async () => {
    machine = await makePortageMachine(join(h.dir, 'machine'));
    helper = await startDistccd(join(h.dir, 'distccd.log'));
    h.defer(() => helper.stop());
    deadPort = await freePort();
    h.defer(() => host?.daemon.builds.signing.close()); // once the host has stopped
    host = await h.startHost({
      extra:
        `[build]\nemerge = [${JSON.stringify(machine.emerge)}]\nrepository = ${JSON.stringify(TEST_REPO)}\ncancel_grace_seconds = 5\nhost_writable = [${JSON.stringify(machine.machine)}]\n` +
        `[distcc]\nhosts = ["127.0.0.1:${deadPort}/1", ${JSON.stringify(helper.host)}]\nbackoff_seconds = 600\n`,
    });
    await makeTargetSystem(join(h.dir, 'alpha/root'), {
      makeConf: 'COMMON_FLAGS="-O2 -pipe -march=native"\nCFLAGS="${COMMON_FLAGS}"\nCXXFLAGS="${COMMON_FLAGS}"\nFEATURES="distcc"\nDISTCC_HOSTS="192.0.2.1"\n',
      world: ['app-misc/calc'],
    });
    await h.startTarget({ name: 'alpha', address: host.address, extra: '[report]\ndebounce_ms = 200\n[install]\npolicy = "off"\n' });
  }, 60_000);

  const finished = (id: number) =>
    waitFor(() => {
      const b = host.daemon.builds.list('alpha', 0).find((x) => x.id === id);
      return b && b.status !== BuildStatus.BUILD_STATUS_QUEUED && b.status !== BuildStatus.BUILD_STATUS_RUNNING && b;
    }, { timeoutMs: 240_000, what: `build ${id}` });

  it('sends the compile jobs to the live helper past a dead one, which it reports; objects equal a local build', async () => {
    await waitFor(() => host.daemon.registry.store.readState('alpha'), { what: "alpha's state on the host" });
    const stage3 = join(h.dir, 'stage3.tar');
    await writeFile(stage3, buildTar(syntheticStage3()));
    const added = await binhostctl(h.pki, h.dir, host.address, ['target', 'add', 'alpha', '--stage3', stage3]);
    expect(added.code, added.stderr).toBe(0);
    const build: Build = await finished(1);
    const log = await readFile(join(host.daemon.layout.buildsDir('alpha'), '1.log'), 'utf8');
    expect(build.status, `${build.error}\n${log.slice(-3000)}`).toBe(BuildStatus.BUILD_STATUS_SUCCEEDED);

    // Portage's FEATURES=distcc was on (its own record of the build), with the host's helpers,
    // not the target's 192.0.2.1
    const rootDir = host.daemon.layout.rootDir('alpha');
    expect((await readFile(join(rootDir, 'var/db/pkg/app-misc/calc-1.0/FEATURES'), 'utf8')).split(/\s+/)).toContain('distcc');
    const d = build.distcc!;
    expect(d.hosts).toBe(`127.0.0.1:${deadPort}/1 ${helper.host}`);
    expect(d.makeJobs).toBe(1 + 2 + Number((await run('nproc')).stdout.trim()));
    // five translation units; what distcc says ran on the helper is what distccd says it compiled
    const onHelper = d.helpers.find((h) => h.host === `127.0.0.1:${helper.port}`)?.jobs ?? 0;
    expect(onHelper + d.localJobs).toBe(5);
    expect(onHelper).toBeGreaterThanOrEqual(1);
    expect((await helper.jobs()).length).toBe(onHelper);
    expect(d.helpers.map((h) => h.host)).not.toContain('192.0.2.1');
    // signing stayed on next to distcc (both are FEATURES words the host adds)
    const snapshot = host.daemon.layout.snapshotDir('alpha', build.snapshotId);
    const entry = parsePackagesIndex(await readFile(join(snapshot, 'Packages'), 'utf8')).packages.find((p) => indexValue(p, 'CPV') === 'app-misc/calc-1.0')!;
    expect(readGpkg(await readFile(join(snapshot, indexValue(entry, 'PATH')!))).members.map((m) => m.name)).toContain('image.tar.zst.sig');
    // the dead helper: tried, refused (distcc then took the next helper), reported
    const refused = d.problems.find((p) => p.host === `127.0.0.1:${deadPort}`);
    expect(refused?.reason).toBe('connection refused');
    expect(log).toContain(`>>> binhost: distcc: 5 compile jobs: ${onHelper} on 127.0.0.1:${helper.port}, ${d.localJobs} here`);
    // one build shows all of DETAIL (the list shortens it)
    const listed = await binhostctl(h.pki, h.dir, host.address, ['builds', 'alpha', '1']);
    expect(listed.stdout).toContain(`${onHelper} on 127.0.0.1:${helper.port}`);
    expect(listed.stdout).toContain(`127.0.0.1:${deadPort} connection refused`);

    // the objects distcc made equal those of a local compile with the root's resolved flags
    const cflags = (await readFile(join(rootDir, 'var/db/pkg/app-misc/calc-1.0/CFLAGS'), 'utf8')).trim();
    expect(cflags).toMatch(/-march=(?!native)/);
    const local = join(h.dir, 'local-build');
    await run('mkdir', ['-p', local]);
    for (const f of await readdir(CALC_FILES)) await copyFile(join(CALC_FILES, f), join(local, f));
    const objects = join(rootDir, 'usr/share/calc/objects');
    expect((await readdir(objects)).sort()).toEqual(['add.o', 'div.o', 'main.o', 'mul.o', 'sub.o']);
    for (const o of await readdir(objects)) {
      await run('gcc', [...cflags.split(/\s+/), '-c', o.replace(/\.o$/, '.c'), '-o', o], { cwd: local });
      expect(Buffer.compare(await readFile(join(objects, o)), await readFile(join(local, o))), o).toBe(0);
    }
  }, 300_000);

  it('with every helper down, compiles here, says so, and does not try the failed helper per file (backoff)', async () => {
    // a SIGHUP's reload of host.toml (what main.ts wires): the next build uses only the dead helper
    const original = await readFile(host.configFile, 'utf8');
    const reloader = createConfigReloader({
      file: host.configFile,
      load: loadHostConfig,
      current: await loadHostConfig(host.configFile),
      liveKeys: HOST_LIVE_KEYS,
      apply: (next) => applyHostConfig(host.daemon, next),
      log: silentLogger(),
    });
    await writeFile(host.configFile, original.replace(/^hosts = .*$/m, `hosts = ["127.0.0.1:${deadPort}/1"]`));
    expect(await reloader.reload()).toEqual({ ok: true, applied: ['distcc.hosts'], restartRequired: [] });
    const res = await binhostctl(h.pki, h.dir, host.address, ['build', 'alpha', '--', '--oneshot', 'app-misc/calc']);
    expect(res.code, res.stderr).toBe(0);
    const build = await finished(Number(/\d+/.exec(res.stdout)![0]));
    expect(build.status, build.error).toBe(BuildStatus.BUILD_STATUS_SUCCEEDED);
    const d = build.distcc!;
    expect(d).toMatchObject({ helpers: [], localJobs: 5, fallbackJobs: 5 });
    // failed in the first build less than backoff_seconds ago: distcc skipped it without connecting
    expect(d.problems).toEqual([{ host: `127.0.0.1:${deadPort}`, reason: 'skipped: failed earlier, in distcc backoff', count: 0 }]);
    const log = await readFile(join(host.daemon.layout.buildsDir('alpha'), `${build.id}.log`), 'utf8');
    expect(log).toContain('>>> binhost: distcc: 5 compile jobs: 5 here (5 fell back to local compiles)');
    expect(log).toContain('fell back to local compiles: no helper could take them');
    const listed = await binhostctl(h.pki, h.dir, host.address, ['builds', 'alpha', String(build.id)]);
    expect(listed.stdout).toContain('5 here (5 fell back to local compiles)');
    await writeFile(host.configFile, original);
    await reloader.reload();
  }, 120_000);

  it('refuses, before emerge, a root whose flags each helper would resolve for itself, and says why', async () => {
    const makeConf = join(host.daemon.layout.rootDir('alpha'), 'etc/portage/make.conf');
    const before = await readFile(makeConf, 'utf8');
    await appendFile(makeConf, 'CFLAGS="${CFLAGS} -mtune=native"\n');
    try {
      const res = await binhostctl(h.pki, h.dir, host.address, ['build', 'alpha', '--', '--oneshot', 'app-misc/calc']);
      expect(res.code, res.stderr).toBe(0);
      const build = await finished(Number(/\d+/.exec(res.stdout)![0]));
      expect(build.status).toBe(BuildStatus.BUILD_STATUS_FAILED);
      expect(build.error).toContain('distcc is on for root "alpha"');
      expect(build.error).toMatch(/etc\/portage\/make\.conf:\d+ CFLAGS has -mtune=native/);
      const listed = await binhostctl(h.pki, h.dir, host.address, ['builds', 'alpha', String(build.id)]);
      expect(listed.stdout).toContain('-mtune=native');
    } finally {
      await writeFile(makeConf, before);
    }
  }, 60_000);
});
