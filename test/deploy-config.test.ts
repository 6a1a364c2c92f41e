import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAdminConfig, loadHostConfig, loadTargetConfig, readTlsFiles, type TlsFiles } from '@binhost/shared';
import { ConfigReader } from '../packages/shared/src/config/config-reader.js';
import { useHarness } from './helpers/harness.js';
import { REPO } from './helpers/repo.js';

/**
 * The commented templates in deploy/config/ are what an admin copies to /etc/binhost. Checked:
 * they load with the agents' own loaders; every optional setting they show ("#key = value")
 * spells a real key and shows its true default (uncommenting them all changes nothing); and with
 * the certificate paths filled in, the TLS files are accepted; and every key the loader reads
 * appears in its template (set, or shown commented out).
 */
const TEMPLATES = {
  host: { load: loadHostConfig, role: 'host' },
  target: { load: loadTargetConfig, role: 'target' },
  admin: { load: loadAdminConfig, role: 'admin' },
} as const;

describe('config templates', () => {
  const h = useHarness({ prefix: 'binhost-templates-' });

  for (const [name, { load, role }] of Object.entries(TEMPLATES)) {
    const template = join(REPO, 'deploy/config', `${name}.toml.example`);

    it(`${name}.toml.example loads, and uncommenting every shown setting leaves the config unchanged`, async () => {
      const text = await readFile(template, 'utf8');
      const settings = text.split('\n').filter((l) => /^#[a-z_]+ = /.test(l));
      if (name !== 'admin') expect(settings.length).toBeGreaterThan(3);
      const plain = join(h.dir, `${name}.toml`);
      const uncommented = join(h.dir, `${name}-all.toml`);
      await writeFile(plain, text);
      await writeFile(uncommented, text.replace(/^#([a-z_]+ = )/gm, '$1'));
      const a = await load(plain);
      const b = await load(uncommented);
      expect({ ...b, configFile: '' }).toEqual({ ...a, configFile: '' });
    });

    it(`${name}.toml.example shows every key its loader knows`, async () => {
      const known = await keysRead(() => load(template));
      expect(known.size).toBeGreaterThan(3);
      const shown = keysShown(await readFile(template, 'utf8'));
      expect([...known].filter((k) => !shown.has(k))).toEqual([]);
    });

    it(`${name}.toml.example with its certificate paths filled in passes the TLS checks`, async () => {
      const f = await h.pki.files(role, 'alpha');
      const text = (await readFile(template, 'utf8'))
        .replace(/^ca = ".*"$/m, `ca = "${f.ca}"`)
        .replace(/^cert = ".*"$/m, `cert = "${f.cert}"`)
        .replace(/^key = ".*"$/m, `key = "${f.key}"`);
      const file = join(h.dir, `${name}.toml`);
      await writeFile(file, text);
      const config = await load(file);
      expect(config.tls).toEqual<TlsFiles>({ ca: f.ca, cert: f.cert, key: f.key });
      await expect(readTlsFiles(config.tls, file)).resolves.toBeDefined();
    });
  }
});

/** The key paths (`build.sandbox`, tables too: `build`) the loader asks the file for while `run` runs. */
async function keysRead(run: () => Promise<unknown>): Promise<Set<string>> {
  const proto = ConfigReader.prototype as unknown as { get(key: string): unknown; prefixPath(key: string): string };
  const original = proto.get;
  const read = new Set<string>();
  proto.get = function (this: typeof proto, key: string) {
    read.add(this.prefixPath(key));
    return original.call(this, key);
  };
  try {
    await run();
  } finally {
    proto.get = original;
  }
  return read;
}

/**
 * The key paths a template sets or shows commented out: `key = …` and `#key = …` lines under their
 * `[table]` header, the tables themselves, and commented tables like `# [distcc.roots.NAME]`.
 */
function keysShown(text: string): Set<string> {
  const shown = new Set<string>();
  let table = '';
  for (const line of text.split('\n')) {
    const header = /^#?\s*\[([A-Za-z_.]+)\]\s*$/.exec(line);
    if (header) {
      table = header[1]!;
      const parts = table.split('.');
      parts.forEach((_, i) => shown.add(parts.slice(0, i + 1).join('.')));
      continue;
    }
    const key = /^#?\s*([a-z_]+) = /.exec(line);
    if (key) shown.add(table ? `${table}.${key[1]}` : key[1]!);
  }
  return shown;
}
