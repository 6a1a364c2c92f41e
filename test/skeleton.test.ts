import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callUnary } from '@binhost/shared';
import { tmpTree } from './helpers/tmp-tree.js';
import { makePki, type TestPki } from './helpers/pki.js';
import { startHost, type StartedHost } from './helpers/start-host.js';
import { startTarget, type StartedTarget } from './helpers/start-target.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';

describe('walking skeleton', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let pki: TestPki;
  let host: StartedHost | undefined;
  let target: StartedTarget | undefined;

  beforeEach(async () => {
    tmp = await tmpTree();
    pki = await makePki(`${tmp.dir}/pki`);
  });
  afterEach(async () => {
    await target?.stop();
    await host?.stop();
    await tmp.cleanup();
    host = target = undefined;
  });

  it('lists a target as connected once it dials in, and as disconnected when it stops', async () => {
    host = await startHost({ dir: `${tmp.dir}/host`, pki });
    target = await startTarget({ dir: `${tmp.dir}/alpha`, pki, name: 'alpha', address: host.address });
    const admin = await clientsFor(pki, host.address, 'admin', 'root');
    try {
      const listed = await waitFor(async () => {
        const res = await callUnary(admin.admin.listTargets.bind(admin.admin), {});
        return res.targets.find((t) => t.name === 'alpha' && t.connected);
      }, { what: 'alpha connected' });
      expect(listed.lastSeen).toBeInstanceOf(Date);
      await target.stop();
      target = undefined;
      await waitFor(async () => {
        const res = await callUnary(admin.admin.listTargets.bind(admin.admin), {});
        return res.targets.find((t) => t.name === 'alpha' && !t.connected);
      }, { what: 'alpha disconnected' });
    } finally {
      admin.close();
    }
  });

  it('reconnects after the host restarts, and the host remembers the target', async () => {
    host = await startHost({ dir: `${tmp.dir}/host`, pki });
    const port = host.port;
    target = await startTarget({ dir: `${tmp.dir}/alpha`, pki, name: 'alpha', address: host.address });
    await waitFor(() => target!.daemon.connection?.connected, { what: 'first connection' });
    await host.stop();
    await waitFor(() => !target!.daemon.connection?.connected, { what: 'target noticed the host is gone' });
    host = await startHost({ dir: `${tmp.dir}/host`, pki, port });
    await waitFor(() => target!.daemon.connection?.connected, { what: 'reconnection', timeoutMs: 10_000 });
    expect(host.daemon.registry.has('alpha')).toBe(true);
    expect(host.daemon.registry.isConnected('alpha')).toBe(true);
  });
});
