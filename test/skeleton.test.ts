import { describe, expect, it } from 'vitest';
import { callUnary } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';

describe('walking skeleton', () => {
  const h = useHarness();
  let host: StartedHost | undefined;
  let target: StartedTarget | undefined;

  it('lists a target as connected once it dials in, and as disconnected when it stops', async () => {
    host = await h.startHost();
    target = await h.startTarget({ name: 'alpha', address: host.address });
    const admin = await clientsFor(h.pki, host.address, 'admin', 'root');
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
    host = await h.startHost();
    const port = host.port;
    target = await h.startTarget({ name: 'alpha', address: host.address });
    await waitFor(() => target!.daemon.connection?.connected, { what: 'first connection' });
    await host.stop();
    await waitFor(() => !target!.daemon.connection?.connected, { what: 'target noticed the host is gone' });
    host = await h.startHost({ port });
    await waitFor(() => target!.daemon.connection?.connected, { what: 'reconnection', timeoutMs: 10_000 });
    expect(host.daemon.registry.has('alpha')).toBe(true);
    expect(host.daemon.registry.isConnected('alpha')).toBe(true);
  });
});
