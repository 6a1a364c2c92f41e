import { beforeEach, describe, expect, it } from 'vitest';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { dispatch } from '@binhost/cli';
import { BuildStatus } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import { makeHarnessTarget } from './helpers/portage-tree.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import { waitFor } from './helpers/wait-for.js';
import { EMERGE_STAND_IN, TEST_REPO } from './helpers/emerge-stand-in.js';
import { buildTar, syntheticStage3 } from './helpers/tar-builder.js';

describe('many targets per host', () => {
  const h = useHarness({ prefix: 'binhost-shared-roots-' });
  let host: StartedHost;
  let adminConfig: string;

  beforeEach(async () => {
    host = await h.startHost({
      extra: `[build]\nemerge = [${JSON.stringify(EMERGE_STAND_IN)}]\nrepository = ${JSON.stringify(TEST_REPO)}\n[signing]\nenabled = false\n`,
    });
    const tls = await h.pki.files('admin', 'root');
    adminConfig = join(h.dir, 'admin.toml');
    await writeFile(adminConfig, `host = "127.0.0.1:${host.port}"\nserver_name = "${TEST_SERVER_NAME}"\n[tls]\nca = ${JSON.stringify(tls.ca)}\ncert = ${JSON.stringify(tls.cert)}\nkey = ${JSON.stringify(tls.key)}\n`);
  });

  async function ctl(...args: string[]): Promise<string> {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    expect(await dispatch([`--config=${adminConfig}`, ...args], { stdout: out, stderr: out })).toBe(0);
    return text;
  }

  it('lets identical targets share one root and its build, and separates one whose config changes', async () => {
    for (const name of ['alpha', 'beta']) {
      await makeHarnessTarget(join(h.dir, name, 'root'));
      await h.startTarget({ name, address: host.address, extra: '[install]\npolicy = "off"' });
    }
    const registry = host.daemon.registry;
    await waitFor(() => registry.currentKey('alpha') && registry.currentKey('alpha') === registry.currentKey('beta'), { what: 'both states' });

    const stage3 = join(h.dir, 'stage3.tar');
    await writeFile(stage3, buildTar(syntheticStage3()));
    await ctl('target', 'add', 'alpha', '--stage3', stage3);
    // one build, in alpha's root, published to both
    await waitFor(() => host.daemon.builds.snapshots.publishedId('alpha') > 0 && host.daemon.builds.snapshots.publishedId('beta') > 0, {
      what: 'a snapshot for both targets',
      timeoutMs: 60_000,
    });
    expect(host.daemon.builds.snapshots.publishedRoot('beta')).toBe('alpha');
    await waitFor(() => host.daemon.builds.list(undefined, 0).some((b) => b.status === BuildStatus.BUILD_STATUS_SUCCEEDED), { what: 'the build record' });
    const builds = host.daemon.builds.list(undefined, 0);
    expect(builds.filter((b) => b.status === BuildStatus.BUILD_STATUS_SUCCEEDED).map((b) => b.root)).toEqual(['alpha']);
    expect(builds.every((b) => b.root === 'alpha')).toBe(true);
    const listing = await ctl('targets');
    expect(listing).toMatch(/alpha\s.*alpha \(shared with beta\)/);
    expect(listing).toMatch(/beta\s.*alpha \(shared with alpha\)/);

    // beta's admin changes its config: beta no longer shares alpha's root (and has none of its own)
    expect(registry.get('beta').lastError).toBe('');
    const shared = registry.currentKey('beta');
    const betaConf = join(h.dir, 'beta/root/etc/portage/make.conf');
    await writeFile(`${betaConf}.tmp`, 'COMMON_FLAGS="-march=native -O3"\nCFLAGS="${COMMON_FLAGS}"\n');
    await rename(`${betaConf}.tmp`, betaConf);
    await waitFor(() => registry.currentKey('beta') !== shared && registry.get('beta').lastError.includes('binhostctl target add beta'), {
      what: "beta's new state and its refusal",
      timeoutMs: 15_000,
    });
    const after = await ctl('--json', 'targets');
    const rows = (JSON.parse(after) as { targets: { name: string; root: string; sharesRootWith: string[] }[] }).targets;
    expect(rows.find((r) => r.name === 'alpha')?.sharesRootWith ?? []).toEqual([]);
    expect(rows.find((r) => r.name === 'beta')?.root ?? '').toBe('');
    // alpha's publication is untouched by beta's change
    expect(host.daemon.builds.list('alpha', 0).filter((b) => b.root === 'alpha').length).toBe(builds.length);
  }, 120_000);
});
