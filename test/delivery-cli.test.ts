import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { Build, BuildStatus, FileKind, InstallOutcome, stateDigest, TargetState } from '@binhost/shared';
import type { EmergeBuilder } from '@binhost/agent-host';
import { dispatch } from '@binhost/cli';
import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { waitFor } from './helpers/wait-for.js';
import { writeSnapshot } from './helpers/publish-snapshot.js';

const FAKE_EMERGE = fileURLToPath(new URL('./fixtures/delivery/fake-emerge.mjs', import.meta.url));
const files = [{ path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from('USE="x"\n'), linkTarget: '' }];
const state = TargetState.fromPartial({ digest: stateDigest(files), files });

function sink() {
  const chunks: string[] = [];
  const stream = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
  return { stream, text: () => chunks.join('') };
}

describe('binhostctl status, sync, emerge, policy', () => {
  const h = useHarness();
  let host: StartedHost;
  let target: StartedTarget;
  let adminToml: string;
  const built: string[][] = [];

  /** Stands in for the build queue: "builds" ARGS by publishing snapshot 2 with one package. */
  const builder: EmergeBuilder = {
    async build(name, args, hooks) {
      built.push([...args]);
      const build = Build.fromPartial({ id: 7, target: name, args: [...args], status: BuildStatus.BUILD_STATUS_RUNNING });
      hooks.onStarted(build);
      hooks.onLine('>>> Emerging (1 of 1) app-misc/hello-2.0::gentoo');
      const snapshot = await writeSnapshot({
        stateDir: host.stateDir,
        root: 'alpha',
        id: 2,
        files: [{ path: 'app-misc/hello/hello-2.0-1.gpkg.tar', data: randomBytes(600_000) }],
        builtDigest: state.digest,
        publishFor: ['alpha'],
        daemon: host.daemon,
      });
      return { build: { ...build, status: BuildStatus.BUILD_STATUS_SUCCEEDED, snapshotId: 2 }, snapshot };
    },
  };

  beforeEach(async () => {
    built.length = 0;
    process.env['FAKE_EMERGE_LOG'] = join(h.dir, 'emerge.log');
    h.defer(() => delete process.env['FAKE_EMERGE_LOG']); // once the agents have stopped
    host = await h.startHost({ emergeBuilder: builder });
    const a = await h.pki.files('admin', 'root');
    adminToml = join(h.dir, 'admin.toml');
    await writeFile(adminToml, `host = "127.0.0.1:${host.port}"\nserver_name = "${TEST_SERVER_NAME}"\n[tls]\nca = "${a.ca}"\ncert = "${a.cert}"\nkey = "${a.key}"\n`);
    await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id: 1, files: [], builtDigest: state.digest, publishFor: ['alpha'], daemon: host.daemon });
    await mkdir(join(h.dir, 'alpha/root/etc/portage'), { recursive: true });
    target = await h.startTarget({
      name: 'alpha',
      address: host.address,
      collectState: async () => state,
      extra: `[install]\npolicy = "confirm"\nemerge = ${JSON.stringify([process.execPath, FAKE_EMERGE])}\n`,
    });
    await waitFor(() => host.daemon.registry.isConnected('alpha'), { timeoutMs: 30_000, what: 'alpha connected' });
  });

  // the CLI dials the certificate's name; point it at the test host's loopback port
  const cli = async (...args: string[]) => {
    const out = sink();
    const err = sink();
    const code = await dispatch([`--config=${adminToml}`, ...args], { stdout: out.stream, stderr: err.stream });
    return { code, out: out.text(), err: err.text() };
  };

  it('emerge builds ARGS on the host, then installs them on the target (--oneshot), both outputs live', async () => {
    const res = await cli('emerge', 'alpha', '--', 'app-misc/hello');
    expect(res.code, res.err).toBe(0);
    // stderr is not a terminal: plain progress lines, one per build phase, no redrawn bar
    expect(res.err).not.toContain('\r');
    expect(res.err).not.toContain('\x1b');
    expect(res.err).toBe('host: 1/1 app-misc/hello-2.0 (setup)\nalpha: mirrored 1 of 1 files (0.6 of 0.6 MiB)\n');
    // like emerge --oneshot: the atom does not go into the world file, which would start another build
    expect(built).toEqual([['--oneshot', 'app-misc/hello']]);
    const lines = res.out.split('\n');
    const order = ['>>> build 7 of alpha started', 'host| >>> Emerging (1 of 1) app-misc/hello-2.0', '>>> snapshot 2 published', '>>> alpha: mirroring', '>>> alpha: planning', '>>> alpha: installing', 'alpha| >>> Completed app-misc/hello-2.0', '>>> alpha: installed'];
    const at = order.map((o) => lines.findIndex((l) => l.startsWith(o)));
    expect(at.every((i) => i >= 0), res.out).toBe(true);
    expect([...at].sort((x, y) => x - y)).toEqual(at);
    expect(await readFile(join(target.root, 'var/db/pkg/app-misc/hello-2.0/BINPKGMD5'), 'utf8')).toMatch(/^[0-9a-f]{32}/);
    // the plan and the install ran with the user's ARGS and the flags that keep USE honest
    const runs = (await readFile(join(h.dir, 'emerge.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(runs.slice(-2)).toEqual([
      ['--pretend', '--getbinpkgonly', '--binpkg-respect-use=y', '--binpkg-changed-deps=y', '--oneshot', 'app-misc/hello'],
      ['--getbinpkgonly', '--binpkg-respect-use=y', '--binpkg-changed-deps=y', '--oneshot', 'app-misc/hello'],
    ]);
    const status = await cli('--json', 'status');
    const [alpha] = (JSON.parse(status.out) as { targets: { installedSnapshotId: number; builtDigest: string; configDigest: string }[] }).targets;
    expect(alpha).toMatchObject({ installedSnapshotId: 2, builtDigest: state.digest, configDigest: state.digest });
  });

  it('emerge of a target that is not connected is refused by the host before any build', async () => {
    await target.stop();
    await waitFor(() => !host.daemon.registry.isConnected('alpha'), { timeoutMs: 30_000, what: 'alpha disconnected' });
    const snapshotsBefore = await cli('--json', 'snapshots', 'alpha');
    const res = await cli('emerge', 'alpha', '--', 'app-misc/hello');
    // the host's refusal (exit 1, said with the command), not an unreachable host (69)
    expect(res.code, res.err).toBe(1);
    expect(res.err).toBe('binhostctl: emerge: alpha is not connected: emerge needs it connected, nothing was built\n');
    expect(res.out).toBe('');
    expect(built).toEqual([]);
    expect((await cli('--json', 'snapshots', 'alpha')).out).toBe(snapshotsBefore.out);
  });

  it('status and target show say when a plan awaits confirmation, with its packages and the command that confirms it', async () => {
    await waitFor(async () => (await host.daemon.installs.last('alpha'))?.outcome === InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE, { timeoutMs: 30_000, what: 'first sync' });
    const shownBefore = await cli('target', 'show', 'alpha');
    expect(shownBefore.out).toMatch(/^last install:\n  outcome +up_to_date\n  snapshot +#1\n  when +\S+ \(.*\)\n/m);
    expect(shownBefore.out).not.toContain('confirm');
    const snap = await writeSnapshot({
      stateDir: host.stateDir,
      root: 'alpha',
      id: 2,
      files: [{ path: 'app-misc/hello/hello-2.0-1.gpkg.tar', data: randomBytes(1000) }],
      builtDigest: state.digest,
      publishFor: ['alpha'],
      daemon: host.daemon,
    });
    host.daemon.hub.publish('alpha', { $case: 'snapshotPublished', value: snap });
    await waitFor(async () => (await host.daemon.installs.last('alpha'))?.outcome === InstallOutcome.INSTALL_OUTCOME_AWAITING_CONFIRMATION, { timeoutMs: 30_000, what: 'a plan awaiting confirmation' });
    const status = await cli('status');
    expect(status.out).toMatch(/alpha\s+connected\s+[0-9a-f]{12}\s+[0-9a-f]{12}\s+#2\s+#1 \(#2 to confirm\)\s+default\s+-\n/);
    expect(status.out).toContain('alpha: install of snapshot #2 awaits confirmation (1 package(s); "binhostctl target show alpha" lists them): binhostctl sync alpha --yes\n');
    const json = JSON.parse((await cli('--json', 'status')).out) as { targets: { awaitingConfirmation: unknown }[] };
    expect(json.targets[0]!.awaitingConfirmation).toEqual({ snapshotId: 2, packages: 1 });
    const shown = await cli('target', 'show', 'alpha');
    expect(shown.out).toMatch(/^last install:\n  outcome +awaiting_confirmation\n  snapshot +#2\n  when +\S+ \(.*\)\n  plan +1 package\(s\), binary only\n    .*app-misc\/hello-2\.0.*\n  confirm +binhostctl sync alpha --yes\n/m);
    // confirmed and installed: nothing awaits any more
    expect((await cli('sync', 'alpha', '--yes')).code).toBe(0);
    await waitFor(async () => (await host.daemon.installs.last('alpha'))?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, { timeoutMs: 30_000, what: 'the confirmed install' });
    const after = await cli('status');
    expect(after.out).not.toContain('confirm');
    expect(after.out).toMatch(/alpha\s+connected\s+[0-9a-f]{12}\s+[0-9a-f]{12}\s+#2\s+#2\s+default\s+-\n/);
  });

  it('status shows digests and snapshots; policy reaches the target; sync --yes is delivered', async () => {
    await waitFor(async () => (await host.daemon.installs.last('alpha'))?.outcome === InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE, { timeoutMs: 30_000, what: 'first sync' });
    const table = await cli('status');
    expect(table.out).toMatch(/^TARGET\s+STATE\s+CONFIG\s+BUILT\s+PUBLISHED\s+INSTALLED\s+POLICY\s+LAST ERROR\n/);
    expect(table.out).toMatch(/alpha\s+connected\s+[0-9a-f]{12}\s+[0-9a-f]{12}\s+#1\s+#1\s+default\s+-/);
    expect((await cli('policy', 'alpha', 'off')).code).toBe(0);
    await waitFor(() => target.daemon.delivery?.policy === 'off', { timeoutMs: 30_000, what: 'policy relayed' });
    expect((await cli('status')).out).toMatch(/alpha .* off /);
    const sync = await cli('sync', 'alpha', '--yes');
    expect(sync.out).toMatch(/^sync requested for alpha \(request [0-9a-f-]{36}\), install confirmed\n$/);
    const usage = await cli('sync');
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("binhostctl: missing required argument 'NAME'\nusage: binhostctl sync [options] <NAME> [-- EMERGE_ARGS...]\n");
  });
});
