import { beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import {
  AppliedConfig,
  Build,
  BuildKind,
  BuildStatus,
  callUnary,
  FileKind,
  InstallOutcome,
  InstallResult,
  isStatus,
  stateDigest,
  TargetState,
  type TargetSummary,
} from '@binhost/shared';
import { HostLayout } from '@binhost/agent-host';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import { clientsFor } from './helpers/clients.js';
import { packagesIndex, writeSnapshot } from './helpers/publish-snapshot.js';
import { binhostctl } from './helpers/admin-cli.js';
import { captureLog } from './helpers/capture-log.js';

/** A state with one make.conf line of its own, so alpha's and beta's differ (no shared root). */
function stateOf(name: string, line = `# ${name}`): TargetState {
  const files = [{ path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(`${line}\n`), linkTarget: '' }];
  return TargetState.fromPartial({ digest: stateDigest(files), files, hostname: name });
}

const pkg = (name: string) => ({ path: `app-misc/${name}/${name}-1.0-1.gpkg.tar`, data: Buffer.from(`${name} package`) });

/**
 * A truncated or corrupt file under the host's state dir hurts only its target: after a restart
 * the host serves the other target as before, and lists the damaged one with the file, what is
 * wrong and what to do (`binhostctl status`, `targets`, `target show`).
 */
describe('damaged records in the state dir', () => {
  const h = useHarness({ prefix: 'binhost-damaged-' });
  let layout: HostLayout;
  let betaDigest: string;

  /** Two targets with everything the host keeps: record, state and history, publication, install result, applied config, a build. */
  async function populate(running: StartedHost): Promise<void> {
    for (const name of ['alpha', 'beta']) {
      const c = await clientsFor(h.pki, running.address, 'target', name);
      try {
        await callUnary(c.target.register.bind(c.target), { agentVersion: 't', hostname: name, lastReportedDigest: '', installedSnapshotId: 0 });
        await callUnary(c.target.reportState.bind(c.target), { state: stateOf(name, `# ${name} 1`) });
        await callUnary(c.target.reportState.bind(c.target), { state: stateOf(name) });
        await writeSnapshot({ stateDir: running.stateDir, root: name, id: 1, files: [pkg(name)], builtDigest: stateOf(name).digest, publishFor: [name], daemon: running.daemon });
        await callUnary(c.target.reportInstall.bind(c.target), { result: InstallResult.fromPartial({ requestId: 'r1', snapshotId: 1, outcome: InstallOutcome.INSTALL_OUTCOME_INSTALLED }) });
      } finally {
        c.close();
      }
      const applied = { digest: stateOf(name).digest, appliedAt: new Date(), makeConf: `# ${name}\n`, rewrites: [], warnings: [], root: name };
      await writeFile(layout.appliedFile(name), JSON.stringify(AppliedConfig.toJSON(applied), null, 2));
      const build = Build.fromPartial({ id: 1, root: name, target: name, kind: BuildKind.BUILD_KIND_AUTO, status: BuildStatus.BUILD_STATUS_SUCCEEDED, queuedAt: new Date(), snapshotId: 1 });
      await mkdir(layout.buildsDir(name), { recursive: true });
      await writeFile(join(layout.buildsDir(name), '1.json'), JSON.stringify(Build.toJSON(build), null, 2));
    }
    betaDigest = stateOf('beta').digest;
  }

  beforeEach(async () => {
    const host = await h.startHost();
    layout = new HostLayout(host.stateDir);
    await populate(host);
    await host.stop();
  });

  let logs: ReturnType<typeof captureLog>;
  const restart = async () => {
    logs = captureLog('info');
    return h.startHost({ log: logs.log });
  };
  /** Keeps the first half of a file: what a crash or a full disk leaves of a non-atomic write. */
  const truncate = async (file: string) => {
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
  };

  async function summaries(running: StartedHost): Promise<Map<string, TargetSummary>> {
    const admin = await clientsFor(h.pki, running.address, 'admin', 'root');
    try {
      const res = await callUnary(admin.admin.listTargets.bind(admin.admin), {});
      return new Map(res.targets.map((t) => [t.name, t]));
    } finally {
      admin.close();
    }
  }

  /** alpha is listed undamaged, registers, and is served its publication, file included. */
  async function expectAlphaServed(running: StartedHost): Promise<void> {
    const listed = await summaries(running);
    expect(listed.get('alpha')).toMatchObject({ damaged: [], publishedSnapshotId: 1, configDigest: stateOf('alpha').digest, installedSnapshotId: 1 });
    const alpha = await clientsFor(h.pki, running.address, 'target', 'alpha');
    try {
      const reg = await callUnary(alpha.target.register.bind(alpha.target), { agentVersion: 't', hostname: 'alpha', lastReportedDigest: '', installedSnapshotId: 1 });
      expect(reg).toMatchObject({ storedDigest: stateOf('alpha').digest, publishedSnapshotId: 1 });
      const pub = await callUnary(alpha.target.getPublication.bind(alpha.target), { snapshotId: 0 });
      expect(Buffer.from(pub.packagesIndex).toString()).toBe(packagesIndex([pkg('alpha')]));
    } finally {
      alpha.close();
    }
  }

  /** beta is listed with exactly one damaged record: `file`, with a problem and a remedy. */
  async function expectBetaDamaged(running: StartedHost, file: string, problem: RegExp): Promise<void> {
    const beta = (await summaries(running)).get('beta');
    expect(beta?.damaged).toEqual([{ file, problem: expect.stringMatching(problem), remedy: expect.any(String) }]);
    expect(beta?.damaged[0]?.remedy.length).toBeGreaterThan(10);
    const out = await binhostctl(h.pki, h.dir, running.address, ['status']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^alpha +connected|^alpha +disconnected +[0-9a-f]/m);
    expect(out.stdout).toMatch(/^beta +disconnected, damaged/m);
    const d = beta!.damaged[0]!;
    expect(out.stdout).toContain(`beta: damaged: ${file}: ${d.problem}; ${d.remedy}\n`);
    expect((await binhostctl(h.pki, h.dir, running.address, ['targets'])).stdout).toContain(`beta: damaged: ${file}: `);
    const show = await binhostctl(h.pki, h.dir, running.address, ['target', 'show', 'beta']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`damaged        ${file}: `);
  }

  const files = {
    'record.json': () => join(layout.targetDir('beta'), 'record.json'),
    'history.json': () => join(layout.targetDir('beta'), 'history.json'),
    'state.bin': () => join(layout.targetDir('beta'), 'state.bin'),
    'published.json': () => layout.publishedFile('beta'),
    'last-install.json': () => join(layout.targetDir('beta'), 'last-install.json'),
    'applied.json': () => layout.appliedFile('beta'),
    'builds/1.json': () => join(layout.buildsDir('beta'), '1.json'),
    'snapshot.json': () => join(layout.snapshotDir('beta', 1), 'snapshot.json'),
    'snapshot Packages': () => join(layout.snapshotDir('beta', 1), 'Packages'),
  } as const;

  it.each(Object.keys(files) as (keyof typeof files)[])('a truncated %s of one target: the host starts, serves the other, shows this one damaged', async (kind) => {
    const file = files[kind]();
    await truncate(file);
    const running = await restart();
    // logged once at startup, naming the file
    expect(logs.lines().filter((l) => l['msg'] === 'damaged record')).toEqual([expect.objectContaining({ level: 50, file })]);
    await expectAlphaServed(running);
    const problem = kind === 'state.bin' ? /decoded|digest/ : kind === 'snapshot Packages' ? /truncated/ : /not valid JSON/;
    await expectBetaDamaged(running, file, problem);
  });

  it('corrupt but well-formed records are caught too: a record naming an unsafe root, a history of non-digests; stray dirs are ignored', async () => {
    await mkdir(join(layout.targetsDir(), 'lost+found'));
    await mkdir(join(layout.rootsDir(), 'Not A Root.meta', 'builds'), { recursive: true });
    await writeFile(join(layout.rootsDir(), 'Not A Root.meta', 'builds', '1.json'), '{');
    const record = files['record.json']();
    await writeFile(record, JSON.stringify({ name: 'beta', hostname: 'beta', root: '../../etc', installedSnapshotId: 0, lastError: '' }));
    const history = files['history.json']();
    await writeFile(history, JSON.stringify([{ digest: 'nonsense', reportedAt: 'yesterday' }]));
    const running = await restart();
    await expectAlphaServed(running);
    const beta = (await summaries(running)).get('beta');
    expect([...(await summaries(running)).keys()]).toEqual(['alpha', 'beta']);
    expect(beta?.damaged.map((d) => [d.file, d.problem])).toEqual([
      [history, 'entry 0 is not {"digest","reportedAt"}'],
      [record, expect.stringContaining('invalid root name "../../etc"')],
    ]);
  });

  it('a damaged record.json refuses the target until the file is deleted; then it registers afresh', async () => {
    const record = files['record.json']();
    await truncate(record);
    const running = await restart();
    const beta = await clientsFor(h.pki, running.address, 'target', 'beta');
    try {
      const register = () => callUnary(beta.target.register.bind(beta.target), { agentVersion: 't', hostname: 'beta', lastReportedDigest: '', installedSnapshotId: 1 });
      const refused = await register().catch((err: unknown) => err);
      expect(isStatus(refused, status.DATA_LOSS)).toBe(true);
      expect((refused as { details: string }).details).toContain(`${record}: is not valid JSON`);
      expect(await readFile(record, 'utf8')).not.toBe(''); // never written over

      await rm(record);
      expect(await register()).toMatchObject({ storedDigest: betaDigest, publishedSnapshotId: 1 });
      expect((await summaries(running)).get('beta')).toMatchObject({ damaged: [], hostname: 'beta' });
    } finally {
      beta.close();
    }
  });

  it('a damaged state.bin is replaced by the next report, which the host asks for', async () => {
    await truncate(files['state.bin']());
    const running = await restart();
    const beta = await clientsFor(h.pki, running.address, 'target', 'beta');
    try {
      // no stored digest: the target reports its state again on connect
      const reg = await callUnary(beta.target.register.bind(beta.target), { agentVersion: 't', hostname: 'beta', lastReportedDigest: betaDigest, installedSnapshotId: 1 });
      expect(reg.storedDigest).toBe('');
      expect(await callUnary(beta.target.reportState.bind(beta.target), { state: stateOf('beta') })).toMatchObject({ changed: true });
      expect((await summaries(running)).get('beta')).toMatchObject({ damaged: [], configDigest: betaDigest });
    } finally {
      beta.close();
    }
  });

  it('a damaged published.json is replaced by publishing again; a damaged history state only fails its diff', async () => {
    await truncate(files['published.json']());
    const old = join(layout.targetDir('beta'), 'states', `${stateOf('beta', '# beta 1').digest.slice('sha256:'.length)}.bin`);
    await truncate(old);
    const running = await restart();
    const beta = await clientsFor(h.pki, running.address, 'target', 'beta');
    try {
      const none = await callUnary(beta.target.getPublication.bind(beta.target), { snapshotId: 0 }).catch((err: unknown) => err);
      expect(isStatus(none, status.NOT_FOUND)).toBe(true);
      const diff = await binhostctl(h.pki, h.dir, running.address, ['target', 'diff', 'beta']);
      expect(diff.code).toBe(1);
      expect(diff.stderr).toContain(`${old}: `);
      expect((await summaries(running)).get('beta')?.damaged.map((d) => d.file)).toEqual([old, files['published.json']()].sort());

      expect((await binhostctl(h.pki, h.dir, running.address, ['publish', 'beta', '--snapshot', '1'])).code).toBe(0);
      expect((await callUnary(beta.target.getPublication.bind(beta.target), { snapshotId: 0 })).snapshot?.id).toBe(1);
      await rm(old);
      expect((await summaries(running)).get('beta')?.damaged).toEqual([]);
    } finally {
      beta.close();
    }
  });
});
