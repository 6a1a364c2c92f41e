import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from './helpers/repo.js';

/**
 * The Gentoo ebuild. pkgcheck and Portage are not available on test machines, so this checks the
 * structure Gentoo requires by reading the file (and bash -n); deploy-install.test.ts runs its
 * src_compile and src_install under stub helpers and compares the result with install.sh's.
 */
const DIR = join(REPO, 'deploy/gentoo/app-admin/binhost-agents');
const EBUILD = join(DIR, 'binhost-agents-0.1.0.ebuild');

describe('Gentoo ebuild', () => {
  it('passes bash -n and has the required structure', async () => {
    expect(spawnSync('bash', ['-n', EBUILD], { encoding: 'utf8' }).stderr).toBe('');
    const text = await readFile(EBUILD, 'utf8');
    const code = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(text.split('\n').slice(0, 2)).toEqual(['# Copyright 2026 Gentoo Authors', '# Distributed under the terms of the GNU General Public License v2']);
    // EAPI comes first, then inherit.
    expect(code[0]).toBe('EAPI=8');
    expect(code[1]).toMatch(/^inherit (.+ )?systemd( |$)/);
    for (const re of [/^DESCRIPTION="[^"]{1,80}"$/m, /^HOMEPAGE="https:\/\//m, /^SRC_URI="https:\/\/\S+\/\$\{P\}\.tar\.gz"$/m, /^LICENSE="[^"]+"$/m, /^SLOT="0"$/m, /^KEYWORDS="~amd64"$/m]) {
      expect(text).toMatch(re);
    }
    const rdepend = /^RDEPEND="([^"]*)"/m.exec(text)?.[1] ?? '';
    for (const atom of ['net-libs/nodejs', 'app-crypt/gnupg', 'app-arch/zstd', 'sys-apps/portage']) expect(rdepend).toContain(atom);
    expect(text).toMatch(/^src_install\(\) \{$/m);
    // Gentoo style: tabs for indentation.
    expect(text.split('\n').filter((l) => /^ +\S/.test(l))).toEqual([]);
  });

  it("pkg_postinst names every certificate to issue (host, target, admin) and admin.toml", async () => {
    const text = await readFile(EBUILD, 'utf8');
    const postinst = text.slice(text.indexOf('pkg_postinst() {'));
    for (const role of ['host', 'target', 'admin']) expect(postinst).toMatch(new RegExp(`elog "  binhostctl pki issue ${role} NAME`));
    expect(postinst).toContain('/etc/binhost/admin.toml.example');
  });

  it('installs every unit, init script, conf.d file and template that deploy/ ships', async () => {
    const text = await readFile(EBUILD, 'utf8');
    const shipped = ['systemd/binhost-host.service', 'systemd/binhost-target.service', 'config/host.toml.example', 'config/target.toml.example', 'config/admin.toml.example'];
    for (const f of shipped) expect(text).toContain(`deploy/${f}`);
    for (const kind of ['initd', 'confd']) expect(text).toContain(`new${kind} deploy/openrc/${kind.replace('d', '.d')}/\${agent} \${agent}`);
  });

  it('has a well-formed metadata.xml with the pkgmetadata DTD', async () => {
    const xml = await readFile(join(DIR, 'metadata.xml'), 'utf8');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE pkgmetadata SYSTEM "https://www.gentoo.org/dtd/metadata.dtd">\n')).toBe(true);
    // Tags nest and close properly (a small check; no XML library in the workspace).
    const stack: string[] = [];
    for (const [, close, name] of xml.replace(/<\?.*?\?>|<!.*?>/gs, '').matchAll(/<(\/?)([a-z-]+)[^>]*>/g)) {
      if (close) expect(stack.pop()).toBe(name);
      else stack.push(name!);
    }
    expect(stack).toEqual([]);
    expect(xml).toMatch(/<maintainer type="person">\s*<email>[^<]+<\/email>/);
  });
});
