import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileKind, stateDigest, TargetState, type NativeFlags } from '@binhost/shared';
import { tmpTree } from './helpers/tmp-tree.js';
import { makePki, type TestPki } from './helpers/pki.js';
import { startHost, type StartedHost } from './helpers/start-host.js';
import { startTarget, type StartedTarget } from './helpers/start-target.js';
import { waitFor } from './helpers/wait-for.js';

/** The same config files on a machine whose -march=native resolves to `march`. */
function stateOn(march: string): TargetState {
  const files = [{ path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from('CFLAGS="-O2 -march=native"\n'), linkTarget: '' }];
  const nativeFlags: NativeFlags = { known: true, march, mtune: march, featureFlags: [], params: [], compiler: 'gcc', error: '' };
  return TargetState.fromPartial({ digest: stateDigest(files), files, profile: 'default/linux/amd64/harness', nativeFlags, hostname: 'alpha' });
}

describe('machine facts in the report', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let pki: TestPki;
  let host: StartedHost;
  let target: StartedTarget | undefined;

  beforeEach(async () => {
    tmp = await tmpTree();
    pki = await makePki(`${tmp.dir}/pki`);
    host = await startHost({ dir: `${tmp.dir}/host`, pki });
  });
  afterEach(async () => {
    await target?.stop();
    await host.stop();
    await tmp.cleanup();
    target = undefined;
  });

  async function runTargetOn(march: string) {
    target = await startTarget({ dir: `${tmp.dir}/alpha`, pki, name: 'alpha', address: host.address, collectState: async () => stateOn(march) });
    await waitFor(() => target!.daemon.connection?.connected, { what: 'connection' });
    await target.daemon.reporter!.idle();
    await target.stop();
    target = undefined;
  }

  it('stores and rebuilds for a new CPU even when no config file changed, and only then', async () => {
    const changes: string[] = [];
    host.daemon.registry.on('state', (c) => changes.push(c.state.nativeFlags!.march));
    await runTargetOn('znver3');
    await waitFor(() => changes.length === 1, { what: 'first state' });
    // the machine got a new CPU; /etc/portage is byte for byte the same (same digest)
    await runTargetOn('znver4');
    await waitFor(() => changes.length === 2, { what: 'the new CPU to reach the host' });
    expect(stateOn('znver3').digest).toBe(stateOn('znver4').digest);
    const stored = await host.daemon.registry.store.readState('alpha');
    expect(stored?.nativeFlags?.march).toBe('znver4');
    // the same machine again: reported once at start, but nothing new for the host
    await runTargetOn('znver4');
    expect(changes).toEqual(['znver3', 'znver4']);
    expect((await host.daemon.registry.store.readHistory('alpha')).length).toBe(2);
  });
});
