import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createConfigReloader, loadTargetConfig, silentLogger } from '@binhost/shared';
import { TARGET_LIVE_KEYS } from '@binhost/agent-target';
import { tmpTree } from './helpers/tmp-tree.js';
import { makePki, type TestPki } from './helpers/pki.js';
import { startHost, type StartedHost } from './helpers/start-host.js';
import { startTarget, type StartedTarget } from './helpers/start-target.js';
import { waitFor } from './helpers/wait-for.js';

/** A SIGHUP reload (the reloader main.ts wires to SIGHUP) reaches the running target's install decisions. */
describe('target config reload', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let pki: TestPki;
  let host: StartedHost | undefined;
  let target: StartedTarget | undefined;

  beforeEach(async () => {
    tmp = await tmpTree();
    pki = await makePki(join(tmp.dir, 'pki'));
  });
  afterEach(async () => {
    await target?.stop();
    await host?.stop();
    host = target = undefined;
    await tmp.cleanup();
  });

  it('switches the running delivery to the reloaded install.policy and keeps the connection', async () => {
    host = await startHost({ dir: join(tmp.dir, 'host'), pki });
    target = await startTarget({ dir: join(tmp.dir, 'alpha'), pki, name: 'alpha', address: host.address });
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
