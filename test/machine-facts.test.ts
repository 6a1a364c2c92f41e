import { beforeEach, describe, expect, it } from 'vitest';
import { FileKind, stateDigest, TargetState, type NativeFlags } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import { waitFor } from './helpers/wait-for.js';

/** The same config files on a machine whose -march=native resolves to `march`. */
function stateOn(march: string): TargetState {
  const files = [{ path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from('CFLAGS="-O2 -march=native"\n'), linkTarget: '' }];
  const nativeFlags: NativeFlags = { known: true, march, mtune: march, featureFlags: [], params: [], compiler: 'gcc', error: '' };
  return TargetState.fromPartial({ digest: stateDigest(files), files, profile: 'default/linux/amd64/harness', nativeFlags, hostname: 'alpha' });
}

describe('machine facts in the report', () => {
  const h = useHarness();
  let host: StartedHost;

  beforeEach(async () => {
    host = await h.startHost();
  });

  async function runTargetOn(march: string) {
    const target = await h.startTarget({ name: 'alpha', address: host.address, collectState: async () => stateOn(march) });
    await waitFor(() => target.daemon.connection?.connected, { what: 'connection' });
    await target.daemon.reporter!.idle();
    await target.stop();
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
