import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BuildStatus } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import { waitFor } from './helpers/wait-for.js';
import { binhostctl } from './helpers/admin-cli.js';
import { buildTar, syntheticStage3 } from './helpers/tar-builder.js';
import { makePortageMachine, makeTargetSystem, realPortageBuildConfig, type PortageMachine } from './helpers/real-portage.js';
import { buildProcesses } from './helpers/build-processes.js';

const exists = (p: string) => access(p).then(() => true, () => false);

/**
 * A hostile target, with a valid certificate, whose config does what a target's config can do on
 * the host: its etc/portage/bashrc runs in every ebuild phase of every build, as root, with real
 * Portage. The build sandbox must keep it inside its own root.
 */
describe('real Portage: a hostile target config stays inside its root', () => {
  const h = useHarness({ scope: 'all', prefix: 'binhost-hostile-' });
  let machine: PortageMachine;
  let host: StartedHost;

  beforeAll(async () => {
    machine = await makePortageMachine(join(h.dir, 'machine'));
    h.defer(() => host?.daemon.builds.signing.close()); // once the host has stopped
    host = await h.startHost({
      extra: realPortageBuildConfig(machine),
    });
  }, 60_000);

  it('reads no other root, no key but its own, writes nothing of the host, and leaves nothing running', async () => {
    const state = host.stateDir;
    // another root's signing key, which this target's build must not be able to use
    const victim = await host.daemon.builds.signing.of('victim').ensure();
    const rootDir = join(state, 'roots/mallory');
    const tlsKey = (await h.pki.files('host', 'host')).key;
    const report = join(rootDir, 'hostile-report');
    const bashrc = [
      'if [[ ${EBUILD_PHASE} == compile ]]; then',
      `  exec 3>>${report}`,
      `  echo "keys: $(ls ${state}/keys 2>&1 | tr '\\n' ' ')" >&3`,
      `  echo "victim: $(cat ${state}/keys/victim/secret/private-keys-v1.d/* 2>&1 | head -c 300)" >&3`,
      `  echo "registry: $(ls ${state}/targets 2>&1 | tr '\\n' ' ')" >&3`,
      `  echo "tls: $(head -c 40 ${tlsKey} 2>&1)" >&3`,
      `  echo pwned > /etc/binhost-hostile-test 2>/dev/null && echo "etc: written" >&3 || echo "etc: refused" >&3`,
      `  echo pwned > ${machine.machine}/hostile-file && echo "machine: written" >&3`,
      `  echo pwned > /var/tmp/binhost-hostile-test 2>/dev/null && echo "var: written" >&3 || echo "var: refused" >&3`,
      `  echo pwned > ${h.dir}/outside 2>/dev/null && echo "tmp: written" >&3 || echo "tmp: refused" >&3`,
      '  ( setsid sleep 600 & ) ; nohup sleep 601 >/dev/null 2>&1 &',
      'fi',
      '',
    ].join('\n');
    const system = join(h.dir, 'mallory/root');
    await makeTargetSystem(system, { makeConf: 'CFLAGS="-O2 -pipe"\n', world: ['app-misc/hello'] });
    await writeFile(join(system, 'etc/portage/bashrc'), bashrc);
    await h.startTarget({ name: 'mallory', address: host.address, extra: `[install]\npolicy = "off"\n` });
    await waitFor(() => host.daemon.registry.store.readState('mallory'), { what: "mallory's state on the host" });
    const stage3 = join(h.dir, 'stage3.tar');
    await writeFile(stage3, buildTar(syntheticStage3()));
    const added = await binhostctl(h.pki, h.dir, host.address, ['target', 'add', 'mallory', '--stage3', stage3]);
    expect(added.code, added.stderr).toBe(0);
    const build = await waitFor(
      () => {
        const b = host.daemon.builds.list('mallory', 1)[0];
        return b && b.status !== BuildStatus.BUILD_STATUS_QUEUED && b.status !== BuildStatus.BUILD_STATUS_RUNNING ? b : undefined;
      },
      { timeoutMs: 240_000, what: "mallory's build" },
    );
    expect(build.status, build.error).toBe(BuildStatus.BUILD_STATUS_SUCCEEDED);

    const seen = await readFile(report, 'utf8');
    // its own key dir only (the other roots' are not there), no registry, no TLS key
    expect(seen).toMatch(/^keys: mallory $/m);
    expect(seen).toMatch(/^victim: .*No such file or directory/m);
    expect(seen).toMatch(/^registry: .*No such file or directory/m);
    expect(seen).toMatch(/^tls: .*No such file or directory/m);
    expect(seen).toMatch(/^etc: refused$/m);
    expect(seen).toMatch(/^var: refused$/m);
    expect(seen).toMatch(/^tmp: refused$/m);
    expect(await exists(join(h.dir, 'outside'))).toBe(false);
    expect(await exists('/etc/binhost-hostile-test')).toBe(false);
    expect(await exists('/var/tmp/binhost-hostile-test')).toBe(false);
    expect(await exists(join(h.dir, 'outside'))).toBe(false);
    // Portage's running root is writable for --root-deps: into mallory's own layer, not the host's
    expect(seen).toMatch(/^machine: written$/m);
    expect(await exists(join(machine.machine, 'hostile-file'))).toBe(false);
    // the victim's key is intact and still its own
    expect((await host.daemon.builds.signing.of('victim').ensure()).fingerprint).toBe(victim.fingerprint);
    // nothing the build started outlives it
    expect(await buildProcesses(rootDir)).toEqual([]);
  }, 300_000);
});
