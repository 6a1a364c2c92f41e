import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadHostConfig } from './host-config.js';
import { distccFor } from './distcc-config.js';
import { createConfigReloader } from './config-reloader.js';
import { createLogger } from '../logger.js';
import { ConfigError } from '../errors.js';

describe('[distcc] in host.toml', () => {
  let dir: string;
  let file: string;
  const tls = '[tls]\nca = "ca.pem"\ncert = "host.pem"\nkey = "host.key"\n';
  const write = (text: string) => writeFile(file, text + tls);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-distcc-config-'));
    file = join(dir, 'host.toml');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is off without the table, and per root settings replace the global ones key by key', async () => {
    await write('');
    expect(distccFor((await loadHostConfig(file)).distcc, 'alpha')).toBeUndefined();
    await write('[distcc]\nhosts = ["10.0.0.2:3632/8", "build3/4,lzo"]\nbackoff_seconds = 30\n[distcc.roots.alpha]\njobs = 5\n[distcc.roots.beta]\nenabled = false\n[distcc.roots.gamma]\nhosts = []\n');
    const { distcc } = await loadHostConfig(file);
    expect(distccFor(distcc, 'alpha')).toEqual({ hosts: ['10.0.0.2:3632/8', 'build3/4,lzo'], pump: false, jobs: 5, backoffSeconds: 30 });
    expect(distccFor(distcc, 'other')).toMatchObject({ jobs: 0 });
    expect(distccFor(distcc, 'beta')).toBeUndefined();
    expect(distccFor(distcc, 'gamma')).toBeUndefined();
  });

  it('refuses a helper that is not one DISTCC_HOSTS word, and unknown keys, naming the key', async () => {
    await write('[distcc]\nhosts = ["10.0.0.2 10.0.0.3"]\n');
    const err = (await loadHostConfig(file).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.key).toBe('distcc.hosts[0]');
    await write('[distcc.roots.alpha]\nhost = ["a"]\n');
    expect(((await loadHostConfig(file).catch((e: unknown) => e)) as ConfigError).key).toBe('distcc.roots.alpha.host');
  });

  it('is live on reload: helpers added, a root override removed', async () => {
    await write('[distcc]\nhosts = ["a/2"]\n[distcc.roots.alpha]\nenabled = false\n');
    const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const reloader = createConfigReloader({ file, load: loadHostConfig, current: await loadHostConfig(file), liveKeys: ['distcc'], log });
    await write('listen = "127.0.0.1:1"\n[distcc]\nhosts = ["a/2", "b/4"]\n');
    const outcome = await reloader.reload();
    expect(outcome.applied).toEqual(['distcc.hosts', 'distcc.roots.alpha']);
    expect(outcome.restartRequired).toEqual(['listen']);
    expect(distccFor(reloader.current.distcc, 'alpha')?.hosts).toEqual(['a/2', 'b/4']);
    expect(reloader.current.distcc.roots).toEqual({});
  });
});
