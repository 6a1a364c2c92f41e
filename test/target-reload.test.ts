import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { createConfigReloader, loadTargetConfig, silentLogger } from '@binhost/shared';
import { TARGET_LIVE_KEYS } from '@binhost/agent-target';
import { useHarness } from './helpers/harness.js';
import { waitFor } from './helpers/wait-for.js';

/** A SIGHUP reload (the reloader main.ts wires to SIGHUP) reaches the running target's install decisions. */
describe('target config reload', () => {
  const h = useHarness();

  it('switches the running delivery to the reloaded install.policy and keeps the connection', async () => {
    const host = await h.startHost();
    const target = await h.startTarget({ name: 'alpha', address: host.address });
    const daemon = target.daemon;
    await waitFor(() => daemon.connection?.connected, { what: 'connected' });
    expect(daemon.delivery?.policy).toBe('auto');
    const reloader = createConfigReloader({
      file: target.configFile,
      load: loadTargetConfig,
      current: daemon.config,
      liveKeys: TARGET_LIVE_KEYS,
      log: silentLogger(),
      apply: (next) => (daemon.config = next),
    });
    const connection = daemon.connection;
    await writeFile(target.configFile, (await readFile(target.configFile, 'utf8')).replace('[tls]', '[install]\npolicy = "confirm"\n[tls]'));
    const outcome = await reloader.reload();
    expect(outcome.ok).toBe(true);
    expect(outcome.applied).toEqual(['install.policy']);
    expect(daemon.delivery?.policy).toBe('confirm');
    // The file names the certificate's host name; the running (loopback) address is kept, not redialled.
    expect(outcome.restartRequired).toEqual(['host']);
    expect(daemon.config.host).toBe(host.address);
    expect(daemon.connection).toBe(connection);
    expect(daemon.connection?.connected).toBe(true);
  });
});
