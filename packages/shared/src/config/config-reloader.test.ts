import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../logger.js';
import { loadTargetConfig, type TargetConfig } from './target-config.js';
import { changedPaths, fileKey, takePaths } from './config-changes.js';
import { createConfigReloader } from './config-reloader.js';

describe('changedPaths and takePaths', () => {
  const a = { configFile: '/a', logLevel: 'info', install: { policy: 'auto', emerge: ['emerge'] }, build: { autoArgs: ['@world'] } };
  const b = { configFile: '/b', logLevel: 'info', install: { policy: 'off', emerge: ['emerge'] }, build: { autoArgs: ['@system'] } };

  it('lists the changed leaf paths, comparing arrays by value and ignoring configFile', () => {
    expect(changedPaths(a, b)).toEqual(['install.policy', 'build.autoArgs']);
    expect(changedPaths(a, structuredClone(a))).toEqual([]);
  });

  it('takes only the named paths over and leaves both inputs untouched', () => {
    const merged = takePaths(a, b, ['install.policy']);
    expect(merged.install.policy).toBe('off');
    expect(merged.build.autoArgs).toEqual(['@world']);
    expect(a.install.policy).toBe('auto');
  });

  it('spells paths as the file does', () => {
    expect(fileKey('build.autoArgs')).toBe('build.auto_args');
    expect(fileKey('report.debounceMs')).toBe('report.debounce_ms');
  });
});

describe('createConfigReloader', () => {
  let dir: string;
  let file: string;
  const out: string[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) });
  const tls = '[tls]\nca = "ca.pem"\ncert = "c.pem"\nkey = "c.key"\n';
  const write = (text: string) => writeFile(file, text + tls);
  const logged = () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-reload-'));
    file = join(dir, 'target.toml');
    out.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function start(): Promise<{ reloader: ReturnType<typeof createConfigReloader<TargetConfig>>; applied: TargetConfig[]; log: ReturnType<typeof createLogger> }> {
    await write('host = "h.lan:7453"\n');
    const log = createLogger({ level: 'info', destination: sink });
    const applied: TargetConfig[] = [];
    const current = await loadTargetConfig(file);
    const reloader = createConfigReloader({ file, load: loadTargetConfig, current, liveKeys: ['install.policy'], log, apply: (c) => applied.push(c) });
    return { reloader, applied, log };
  }

  it('keeps the running config when the new file is broken, naming file and key', async () => {
    const { reloader, applied } = await start();
    const before = reloader.current;
    await write('host = "h.lan:7453"\n[install]\npolicy = 3\n');
    const outcome = await reloader.reload();
    expect(outcome).toMatchObject({ ok: false, error: `${file}: install.policy: expected string, got integer` });
    expect(reloader.current).toBe(before);
    expect(applied).toEqual([]);
    expect(logged().at(-1)).toMatchObject({ level: 50, key: 'install.policy', component: 'config' });
  });

  it('applies live keys, keeps restart-only keys at their running value, and changes the log level of existing children', async () => {
    const { reloader, applied, log } = await start();
    const child = log.child({ component: 'installer' });
    child.debug('before');
    await write('host = "other.lan:7453"\nlog_level = "debug"\n[install]\npolicy = "off"\n');
    const outcome = await reloader.reload();
    expect(outcome).toEqual({ ok: true, applied: ['log_level', 'install.policy'], restartRequired: ['host', 'server_name'] });
    expect(reloader.current.install.policy).toBe('off');
    expect(reloader.current.host).toBe('h.lan:7453');
    expect(applied.at(-1)).toBe(reloader.current);
    child.debug('after');
    const msgs = logged().map((l) => l['msg']);
    expect(msgs).not.toContain('before');
    expect(msgs).toContain('after');
    expect(msgs).toContain('restart required for host, server_name');
    // The same restart-only change is reported again on the next reload: it is still not in effect.
    expect((await reloader.reload()).restartRequired).toEqual(['host', 'server_name']);
  });

  it('keeps the running config and log level when applying fails', async () => {
    await write('host = "h.lan:7453"\n');
    const log = createLogger({ level: 'info', destination: sink });
    const current = await loadTargetConfig(file);
    const reloader = createConfigReloader({ file, load: loadTargetConfig, current, liveKeys: ['install.policy'], log, apply: () => {
      throw new Error('installer busy');
    } });
    await write('host = "h.lan:7453"\nlog_level = "debug"\n[install]\npolicy = "off"\n');
    expect(await reloader.reload()).toEqual({ ok: false, applied: [], restartRequired: [], error: 'installer busy' });
    expect(reloader.current).toBe(current);
    expect(log.level).toBe('info');
  });
});
