import { beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { TargetState } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { waitFor } from './helpers/wait-for.js';
import { captureLog } from './helpers/capture-log.js';
import { editorSave, makePortageTree } from './helpers/portage-tree.js';

describe('target state delivery', () => {
  const h = useHarness();
  let host: StartedHost | undefined;
  let target: StartedTarget | undefined;
  let root: string;

  beforeEach(async () => {
    root = join(h.dir, 'alpha', 'root');
    await makePortageTree(root);
  });

  /** An offer from the target's monitor whose make.conf says `marker`. */
  const offered = (marker: string) =>
    new Promise<TargetState>((resolve) => {
      const on = (s: TargetState) => {
        if (!s.files.some((f) => f.path === 'etc/portage/make.conf' && f.content.toString().includes(marker))) return;
        target!.daemon.monitor!.off('offered', on);
        resolve(s);
      };
      target!.daemon.monitor!.on('offered', on);
    });

  it('after a host restart, sends the latest of the edits made while it was down, exactly once, and nothing when nothing changed', async () => {
    const targetLog = captureLog('info');
    host = await h.startHost();
    const port = host.port;
    target = await h.startTarget({ name: 'alpha', address: host.address, log: targetLog.log, extra: '[report]\ndebounce_ms = 50\n' });
    const reports = () => targetLog.lines().filter((l) => l['msg'] === 'state reported');
    const first = await waitFor(() => host!.daemon.registry.currentDigest('alpha'), { what: 'the first state on the host' });
    expect(first).toBe(target.daemon.monitor!.digest);

    // A restart with nothing changed: the target reconnects and sends nothing.
    await host.stop();
    await waitFor(() => !target!.daemon.connection?.connected, { what: 'the target noticed the host is gone' });
    host = await h.startHost({ port });
    await waitFor(() => target!.daemon.connection?.connected, { what: 'reconnection' });
    await target.daemon.reporter!.idle();
    expect(reports()).toHaveLength(1);

    // Three edits while the host is down; each becomes a new offered state.
    await host.stop();
    await waitFor(() => !target!.daemon.connection?.connected, { what: 'the target noticed the host is gone again' });
    let last: TargetState | undefined;
    for (const n of [1, 2, 3]) {
      const seen = offered(`edit-${n}`);
      await editorSave(root, 'etc/portage/make.conf', `CFLAGS="-O2" # edit-${n}\n`);
      last = await seen;
    }
    host = await h.startHost({ port });
    const stored: string[] = [];
    host.daemon.registry.on('state', (e: { state: TargetState }) => stored.push(e.state.digest));
    await waitFor(() => host!.daemon.registry.currentDigest('alpha') === last!.digest, { what: 'the latest state after reconnect' });
    await target.daemon.reporter!.idle();

    expect(stored).toEqual([last!.digest]);
    expect(reports().map((l) => [l['digest'], l['changed']])).toEqual([
      [first, true],
      [last!.digest, true],
    ]);
    const history = await host.daemon.registry.store.readHistory('alpha');
    expect(history.map((h) => h.digest)).toEqual([first, last!.digest]);
    const onDisk = await host.daemon.registry.store.readState('alpha');
    expect(onDisk?.files.find((f) => f.path === 'etc/portage/make.conf')?.content.toString()).toBe('CFLAGS="-O2" # edit-3\n');
  });
});
