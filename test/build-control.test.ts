import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Build, BuildKind, BuildStatus, callUnary, errnoCode } from '@binhost/shared';
import { buildProcesses } from './helpers/build-processes.js';
import { useHarness } from './helpers/harness.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { cli, targetClient } from './helpers/build-host.js';

const waitLong = <T>(check: () => T | Promise<T>, what: string) => waitFor(check, { timeoutMs: 30_000, what });
type Admin = Awaited<ReturnType<typeof clientsFor>>['admin'];
const ended = (b: Build | undefined) => !!b && b.status !== BuildStatus.BUILD_STATUS_RUNNING && b.status !== BuildStatus.BUILD_STATUS_QUEUED;

/** Whether a process is gone (or a zombie nobody reaped yet). */
async function isDead(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return / Z /.test(stat);
}

describe('build control', { timeout: 90_000 }, () => {
  const h = useHarness();

  async function setUp(options: { emerge?: string[]; extra?: string; port?: number } = {}) {
    const host = await h.startBuildHost(options);
    const admin = await clientsFor(h.pki, host.address, 'admin', 'root');
    h.defer(() => admin.close());
    await mkdir(join(host.stateDir, 'roots/alpha/var/lib/portage'), { recursive: true });
    await writeFile(join(host.stateDir, 'roots/alpha/var/lib/portage/world'), 'app-misc/hello\napp-misc/greet\n');
    await host.daemon.registry.update('alpha', () => undefined);
    return { host, admin: admin.admin };
  }
  const builds = async (admin: Admin) => (await callUnary(admin.listBuilds.bind(admin), { target: 'alpha', limit: 0 })).builds;
  const latest = async (admin: Admin) => (await builds(admin))[0];

  it('cancels a running build: SIGTERM to its process group, SIGKILL after the grace period', async () => {
    // An emerge that ignores SIGTERM and has a child of its own, like emerge → ebuild.sh → make.
    const code = [
      "const { spawn } = require('node:child_process');",
      "process.on('SIGTERM', () => console.log('emerge: ignoring SIGTERM'));",
      "const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });",
      "require('node:fs').writeFileSync(process.env.ROOT + 'child.pid', String(child.pid));",
      "console.log('>>> Emerging (1 of 1) app-misc/hello-1.0::gentoo for ' + process.env.ROOT);",
      "console.log('>>> Compiling source in /w ...');",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const { host, admin } = await setUp({ emerge: [process.execPath, '-e', code, '--'] });
    const started = (await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: ['app-misc/hello'], reinstallRebuilt: false })).build!;
    await waitLong(async () => (await latest(admin))?.phase === 'compile', 'build compiling');
    const childPid = Number(await readFile(join(host.stateDir, 'roots/alpha/child.pid'), 'utf8'));
    const t0 = Date.now();
    const res = await cli(h.pki, h.dir, host.address, ['cancel', 'alpha']);
    const took = Date.now() - t0;
    expect(res).toMatchObject({ code: 0, stdout: `build ${started.id} cancelled: cancelled: cancelled by an admin\n` });
    expect(took).toBeGreaterThanOrEqual(900); // cancel_grace_seconds = 1 before SIGKILL
    const b = await latest(admin);
    expect(b).toMatchObject({ status: BuildStatus.BUILD_STATUS_CANCELLED, exitCode: -1 });
    expect(await readFile(join(host.stateDir, `roots/alpha.meta/builds/${started.id}.log`), 'utf8')).toContain('emerge: ignoring SIGTERM');
    await waitLong(() => isDead(childPid), "emerge's child killed with its group");
  });

  it('streams a live log to a follower in order, then the finished build (binhostctl logs -f)', async () => {
    const { host, admin } = await setUp();
    host.control({ delayMs: 150 });
    await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: [], reinstallRebuilt: false });
    await waitLong(async () => (await latest(admin))?.phase === 'unpack', 'build running');
    const followed = await cli(h.pki, h.dir, host.address, ['logs', '-f', 'alpha']);
    const log = await readFile(join(host.stateDir, 'roots/alpha.meta/builds/1.log'), 'utf8');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe(log);
    expect(log).toMatch(/>>> Emerging \(1 of \d\) [\s\S]*>>> Completed \(2 of 2\)/);
    // stderr is not a terminal: a plain line per package phase between the first and the last line
    const notes = followed.stderr.trimEnd().split('\n');
    expect(notes[0]).toBe('following build 1 of alpha (running)');
    expect(notes.at(-1)).toBe('build 1 succeeded, snapshot 1 published');
    expect(notes.slice(1, -1).every((l) => /^[12]\/2 app-misc\/\S+ \([a-z]+\)$/.test(l)), followed.stderr).toBe(true);
    expect(new Set(notes).size).toBe(notes.length);
    const again = await cli(h.pki, h.dir, host.address, ['logs', 'alpha', '1']);
    expect(again.stdout).toBe(log);
  });

  it('binhostctl build -- ARGS prints the build id and follows it', async () => {
    const { host, admin } = await setUp();
    const res = await cli(h.pki, h.dir, host.address, ['build', 'alpha', '--follow', '--', '--oneshot', 'app-misc/hello']);
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n')[0]).toBe('1');
    expect(res.stdout).toContain('>>> Emerging (1 of 1) app-misc/hello-1.0::gentoo');
    expect(await latest(admin)).toMatchObject({ kind: BuildKind.BUILD_KIND_MANUAL, args: ['--oneshot', 'app-misc/hello'], status: BuildStatus.BUILD_STATUS_SUCCEEDED });
    const json = await cli(h.pki, h.dir, host.address, ['--json', 'builds', 'alpha']);
    expect((JSON.parse(json.stdout) as { builds: unknown[] }).builds[0]).toMatchObject({ id: 1, status: 'succeeded', kind: 'manual' });
  });

  it('rolls back to an older snapshot and prunes the ones no target uses', async () => {
    const { host, admin } = await setUp({ extra: 'keep_snapshots = 2' });
    const target = await targetClient(h.pki, host.address);
    h.defer(() => target.close());
    // The target has snapshot 1 installed: retention must keep it. (After the event stream's
    // hello: the stream's own record update must not race the registration.)
    await waitLong(() => target.events.length > 0, 'event stream open');
    await callUnary(target.client.register.bind(target.client), { agentVersion: 't', hostname: 'alpha-box', lastReportedDigest: '', installedSnapshotId: 1 });
    for (let i = 1; i <= 4; i++) {
      await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: ['--oneshot', `app-misc/${i % 2 ? 'hello' : 'greet'}`], reinstallRebuilt: false });
      await waitLong(async () => (await latest(admin))?.id === i && ended(await latest(admin)), `build ${i}`);
    }
    const listed = await callUnary(admin.listSnapshots.bind(admin), { target: 'alpha' });
    expect(listed.snapshots.map((s) => s.id)).toEqual([1, 3, 4]);
    expect(listed.publishedSnapshotId).toBe(4);
    const shown = await cli(h.pki, h.dir, host.address, ['snapshots', 'alpha']);
    expect(shown.stdout).toMatch(/^\*4\s+4\s+/m);
    await host.daemon.registry.update('alpha', (r) => (r.lastError = 'install of snapshot 4 failed: signature refused'));
    const rolled = await cli(h.pki, h.dir, host.address, ['publish', 'alpha', '--snapshot', '3']);
    // the rollback ends what the last error described
    expect(host.daemon.registry.get('alpha').lastError).toBe('');
    expect(rolled).toMatchObject({ code: 0, stdout: 'snapshot 3 of root alpha published for alpha\n' });
    expect(JSON.parse(await readFile(join(host.stateDir, 'targets/alpha/published.json'), 'utf8'))).toEqual({ root: 'alpha', snapshotId: 3 });
    await waitLong(() => target.events.some((e) => e.event?.$case === 'snapshotPublished' && e.event.value.id === 3), 'snapshot_published 3');
    const missing = await cli(h.pki, h.dir, host.address, ['publish', 'alpha', '--snapshot', '2']);
    expect(missing).toMatchObject({ code: 1, stderr: 'binhostctl: publish: root "alpha" has no snapshot 2\n' });
  });

  it('marks a build left RUNNING by a killed host INTERRUPTED at startup', async () => {
    const dir = join(h.dir, 'host', 'host-state', 'roots', 'alpha.meta', 'builds');
    await mkdir(dir, { recursive: true });
    const running = Build.fromPartial({ id: 5, target: 'alpha', root: 'alpha', kind: BuildKind.BUILD_KIND_AUTO, status: BuildStatus.BUILD_STATUS_RUNNING, queuedAt: new Date(), startedAt: new Date() });
    await writeFile(join(dir, '5.json'), JSON.stringify(Build.toJSON(running)));
    const { admin } = await setUp();
    expect(await latest(admin)).toMatchObject({ id: 5, status: BuildStatus.BUILD_STATUS_INTERRUPTED, error: 'the host stopped while this build ran' });
    expect(JSON.parse(await readFile(join(dir, '5.json'), 'utf8')).status).toBe('BUILD_STATUS_INTERRUPTED');
  });

  it('stops emerge when the host stops mid-build, and the restarted host shows the build INTERRUPTED', async () => {
    const first = await setUp();
    first.host.control({ delayMs: 60_000 });
    await callUnary(first.admin.triggerBuild.bind(first.admin), { target: 'alpha', args: [], reinstallRebuilt: false });
    await waitLong(async () => (await latest(first.admin))?.phase === 'unpack', 'build running');
    const rootDir = join(first.host.stateDir, 'roots/alpha');
    expect(await buildProcesses(rootDir)).not.toEqual([]);
    const port = first.host.port;
    await first.host.stop();
    expect(await buildProcesses(rootDir)).toEqual([]);
    const second = await setUp({ port });
    expect(await latest(second.admin)).toMatchObject({ id: 1, status: BuildStatus.BUILD_STATUS_INTERRUPTED });
  });

  it('after a host SIGKILL mid-build: INTERRUPTED on restart, the orphaned emerge stopped, the root usable again', async () => {
    const { host: first } = await setUp();
    const configFile = join(h.dir, 'host', 'host.toml');
    await first.stop();
    const main = fileURLToPath(new URL('../packages/agent-host/dist/main.js', import.meta.url));
    const startProcess = async (delayMs: number): Promise<{ child: ChildProcess; port: number }> => {
      const env = { ...process.env, BINHOST_FAKE_EMERGE_DELAY_MS: String(delayMs) };
      const child = spawn(process.execPath, [main, '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'], env });
      h.defer(() => void child.kill('SIGKILL'));
      for await (const line of createInterface({ input: child.stdout! })) {
        const m = /"port":(\d+)/.exec(line);
        if (m) return { child, port: Number(m[1]) };
      }
      throw new Error('host exited before listening');
    };
    const { child, port } = await startProcess(60_000);
    const c = await clientsFor(h.pki, `127.0.0.1:${port}`, 'admin', 'root');
    h.defer(() => c.close());
    await callUnary(c.admin.triggerBuild.bind(c.admin), { target: 'alpha', args: [], reinstallRebuilt: false });
    await waitLong(async () => (await latest(c.admin))?.phase === 'unpack', 'build running');
    const rootDir = join(h.dir, 'host/host-state/roots/alpha');
    const left = await buildProcesses(rootDir);
    h.defer(() => {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already stopped (by the restarted host)
        }
      }
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    // its own process group: the build outlives the host (emerge inside its sandbox, too)
    expect(await buildProcesses(rootDir)).toEqual(left);
    const again = await startProcess(0);
    await waitLong(async () => (await buildProcesses(rootDir)).length === 0, 'orphaned emerge stopped by the restarted host');
    const c2 = await clientsFor(h.pki, `127.0.0.1:${again.port}`, 'admin', 'root');
    h.defer(() => c2.close());
    expect(await latest(c2.admin)).toMatchObject({ id: 1, status: BuildStatus.BUILD_STATUS_INTERRUPTED, error: 'the host stopped while this build ran' });
    await callUnary(c2.admin.triggerBuild.bind(c2.admin), { target: 'alpha', args: ['app-misc/hello'], reinstallRebuilt: false });
    const b = await waitLong(async () => {
      const x = await latest(c2.admin);
      return x?.id === 2 && ended(x) ? x : undefined;
    }, 'build 2');
    expect(b).toMatchObject({ status: BuildStatus.BUILD_STATUS_SUCCEEDED, error: '' });
  });
});
