import { describe, expect, it } from 'vitest';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { dispatch } from '@binhost/cli';
import { identityFromSubject } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { stdout, stderr, out: () => out, err: () => err };
}

/** Subject fields of a PEM certificate, as Node's TLS layer would present them to the host. */
function subjectOf(pem: string): Record<string, string> {
  return Object.fromEntries(new X509Certificate(pem).subject.split('\n').map((l) => l.split('=') as [string, string]));
}

describe('binhostctl pki', () => {
  const h = useHarness({ pki: false }); // the tests make their own with binhostctl pki

  it('creates a CA and certificates that carry role and name, keys mode 0600', async () => {
    const dir = `${h.dir}/pki`;
    expect(await dispatch(['pki', 'init', '--dir', dir], io())).toBe(0);
    expect(await dispatch(['pki', 'issue', 'host', 'build1', '--san', 'build1.lan', '--san', '192.0.2.7', '--dir', dir], io())).toBe(0);
    expect(await dispatch(['pki', 'issue', 'target', 'laptop', '--dir', dir], io())).toBe(0);
    expect(await dispatch(['pki', 'issue', 'admin', 'alice', '--dir', dir], io())).toBe(0);
    for (const key of ['ca.key', 'host-build1.key', 'target-laptop.key', 'admin-alice.key']) {
      expect((await stat(`${dir}/${key}`)).mode & 0o777).toBe(0o600);
    }
    expect(identityFromSubject(subjectOf(await readFile(`${dir}/target-laptop.pem`, 'utf8')))).toEqual({ role: 'target', name: 'laptop' });
    expect(identityFromSubject(subjectOf(await readFile(`${dir}/admin-alice.pem`, 'utf8')))).toEqual({ role: 'admin', name: 'alice' });
    const host = new X509Certificate(await readFile(`${dir}/host-build1.pem`));
    expect(host.subjectAltName).toBe('DNS:build1.lan, IP Address:192.0.2.7');
    expect(host.checkIssued(new X509Certificate(await readFile(`${dir}/ca.pem`)))).toBe(true);
  });

  it('creates a new PKI directory mode 0700 and leaves an existing one\'s mode alone', async () => {
    const dir = `${h.dir}/new/pki`;
    expect(await dispatch(['pki', 'init', '--dir', dir], io())).toBe(0);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(`${h.dir}/new`)).mode & 0o777).toBe(0o755 & ~process.umask());
    const existing = `${h.dir}/existing`;
    await mkdir(existing, { mode: 0o750 });
    await chmod(existing, 0o750);
    expect(await dispatch(['pki', 'init', '--dir', existing], io())).toBe(0);
    expect((await stat(existing)).mode & 0o777).toBe(0o750);
  });

  it('never overwrites an existing key', async () => {
    const dir = `${h.dir}/pki`;
    await dispatch(['pki', 'init', '--dir', dir], io());
    const before = await readFile(`${dir}/ca.key`, 'utf8');
    const again = io();
    expect(await dispatch(['pki', 'init', '--dir', dir], again)).toBe(1);
    expect(again.err()).toBe(`binhostctl: ${dir}/ca.key already exists; refusing to overwrite it (move it away first)\n`);
    expect(await readFile(`${dir}/ca.key`, 'utf8')).toBe(before);
    await dispatch(['pki', 'issue', 'target', 'laptop', '--dir', dir], io());
    const twice = io();
    expect(await dispatch(['pki', 'issue', 'target', 'laptop', '--dir', dir], twice)).toBe(1);
    expect(twice.err()).toContain('already exists');
  });

  it('refuses names that could not be a directory name or a subject', async () => {
    const dir = `${h.dir}/pki`;
    await dispatch(['pki', 'init', '--dir', dir], io());
    for (const name of ['../evil', 'a,OU=admin']) {
      const out = io();
      expect(await dispatch(['pki', 'issue', 'target', name, '--dir', dir], out)).toBe(1);
      expect(out.err()).toContain(`invalid target name "${name}"`);
    }
  });

  it('names the file: pki show of a missing file or of one that is not PEM, pki issue without a CA', async () => {
    const missing = io();
    expect(await dispatch(['pki', 'show', `${h.dir}/nosuch.pem`], missing)).toBe(1);
    expect(missing.err()).toBe(`binhostctl: ${h.dir}/nosuch.pem: no such file\n`);
    await writeFile(`${h.dir}/notes.txt`, 'not a certificate\n');
    const notPem = io();
    expect(await dispatch(['pki', 'show', `${h.dir}/notes.txt`], notPem)).toBe(1);
    expect(notPem.err()).toBe(`binhostctl: ${h.dir}/notes.txt: not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)\n`);
    const noCa = io();
    expect(await dispatch(['pki', 'issue', 'admin', 'bob', '--dir', `${h.dir}/empty`], noCa)).toBe(1);
    expect(noCa.err()).toBe(
      `binhostctl: no CA to sign with: ${h.dir}/empty/ca.pem does not exist (create the CA with binhostctl pki init --dir ${h.dir}/empty, or give --dir of an existing one)\n`,
    );
  });

  it('prints usage for an unknown role, on stderr, exit 2', async () => {
    const out = io();
    expect(await dispatch(['pki', 'issue', 'root', 'x', '--dir', h.dir], out)).toBe(2);
    expect(out.err()).toContain('binhostctl: ROLE must be host, target or admin, got "root"\n');
    expect(out.err()).toContain('usage: binhostctl pki issue [options] <ROLE> <NAME>\n');
    expect(out.out()).toBe('');
  });
});

describe('binhostctl global flags', () => {
  it('takes the word after --config as its value, not as the verb', async () => {
    const out = io();
    // the config file does not exist: the error must name it, proving it was read as --config's value
    expect(await dispatch(['--config', '/nonexistent/admin.toml', 'targets'], out)).toBe(78);
    expect(out.err()).toBe('binhostctl: configuration error: /nonexistent/admin.toml: cannot read config: file not found\n');
    // global options go anywhere on the line
    const after = io();
    expect(await dispatch(['targets', '--json', '--config=/nonexistent/admin.toml'], after)).toBe(78);
    expect(after.err()).toContain('/nonexistent/admin.toml');
  });
});
