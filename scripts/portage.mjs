#!/usr/bin/env node
// Real Portage for the tests and the demo, on a machine that is not Gentoo.
//
//   node scripts/portage.mjs install            the pinned Portage in .portage/venv (idempotent)
//   node scripts/portage.mjs machine DIR REPO   a "build machine" at DIR: Portage's running root
//                                               (etc/portage with make.profile, make.conf,
//                                               repos.conf → REPO) and DIR/bin/{emerge,…}
//
// The agents never know about any of this: they are configured with DIR/bin/emerge as their emerge
// command, exactly as they would be with /usr/bin/emerge on Gentoo. What the wrappers set, and why,
// is in docs/real-portage.md (running root, no portage user, gtar, no sys-apps/sandbox).
// On a real Gentoo machine none of this is used: the agents run the system's own emerge.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianTools, which } from './debian-tools.mjs';

/** The Portage release the project is tested with (PyPI `portage`). */
export const PORTAGE_VERSION = '3.0.83';
const top = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the pinned Portage lives: a venv of this checkout, made by `install`. */
export const VENV = join(top, '.portage', 'venv');
const STAMP = join(VENV, '.binhost-portage-version');
/** Portage's programs the wrappers are made for. */
const PROGRAMS = ['emerge', 'ebuild', 'emaint', 'portageq', 'gpkg-sign', 'quickpkg', 'egencache'];

/** Installs the pinned Portage into .portage/venv unless it is already there. Returns the venv. */
export function ensurePortage() {
  const missing = ensureDebianTools();
  if (missing.length) {
    console.error(`portage: cannot run without ${missing.join(', ')} (see above)`);
    process.exit(1);
  }
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === PORTAGE_VERSION) return VENV;
  // The stamp is written last: an interrupted install is made again from scratch.
  rmSync(VENV, { recursive: true, force: true });
  mkdirSync(dirname(VENV), { recursive: true });
  const steps = [
    ['python3', ['-m', 'venv', VENV], '; on Debian: apt-get install python3-venv'],
    [join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `portage==${PORTAGE_VERSION}`], ''],
  ];
  for (const [cmd, args, hint] of steps) {
    const res = spawnSync(cmd, args, { stdio: 'inherit' });
    if (res.status !== 0) {
      rmSync(VENV, { recursive: true, force: true });
      console.error(`portage: ${cmd} ${args.join(' ')} failed (exit ${res.status ?? res.signal})${hint}`);
      process.exit(1);
    }
  }
  writeFileSync(STAMP, `${PORTAGE_VERSION}\n`);
  return VENV;
}

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

function writeAtomic(file, text, mode = 0o644) {
  writeFileSync(`${file}.tmp`, text, { mode });
  chmodSync(`${file}.tmp`, mode);
  renameSync(`${file}.tmp`, file);
}

function relink(target, link) {
  rmSync(link, { force: true });
  symlinkSync(target, link);
}

/**
 * Makes DIR a build machine for real Portage: its running root (what `/` is to emerge: the
 * profile, repos.conf and the PKGDIR/PORTAGE_TMPDIR/DISTDIR of builds for `/`, which
 * `--root-deps` also makes) and wrappers DIR/bin/PROGRAM. Returns the paths. Idempotent.
 */
export function makeMachine(dir, repo, profile = 'default/linux/amd64/harness') {
  const venv = ensurePortage();
  const machine = resolve(dir);
  const bin = join(machine, 'bin');
  const etc = join(machine, 'etc', 'portage');
  for (const d of [bin, etc, join(machine, 'share')]) mkdirSync(d, { recursive: true });
  // A venv Portage finds make.globals and the default sets under its EPREFIX (the machine).
  relink(join(venv, 'share', 'portage'), join(machine, 'share', 'portage'));
  relink(join(resolve(repo), 'profiles', profile), join(etc, 'make.profile'));
  writeAtomic(join(etc, 'repos.conf'), `[DEFAULT]\nmain-repo = gentoo\n\n[gentoo]\nlocation = ${resolve(repo)}\n`);
  writeAtomic(
    join(etc, 'make.conf'),
    `# the running root of ${machine}/bin/emerge (see scripts/portage.mjs)\n` +
      `PKGDIR="${machine}/var/cache/binpkgs"\nPORTAGE_TMPDIR="${machine}/var/tmp"\nDISTDIR="${machine}/var/cache/distfiles"\n`,
  );
  relink(which('tar') || '/bin/tar', join(bin, 'gtar'));
  const user = userInfo();
  const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim() || 'root';
  for (const program of PROGRAMS) {
    writeAtomic(
      join(bin, program),
      [
        '#!/bin/sh',
        `# Real Portage ${PORTAGE_VERSION} (${venv}) with ${machine} as its running root; made by scripts/portage.mjs.`,
        `export PORTAGE_OVERRIDE_EPREFIX=${q(machine)} EPREFIX=''`,
        `export PORTAGE_USERNAME=${q(user.username)} PORTAGE_GRPNAME=${q(group)}`,
        // no sys-apps/sandbox and no portage user here; FEATURES from the caller stack on top
        'export FEATURES="-sandbox -usersandbox -userpriv -userfetch -usersync -ipc-sandbox -network-sandbox -pid-sandbox -news ${FEATURES:-}"',
        `export PATH=${q(bin)}:${q(join(venv, 'bin'))}:"$PATH"`,
        `exec ${q(join(venv, 'bin', program))} "$@"`,
        '',
      ].join('\n'),
      0o755,
    );
  }
  return { machine, bin, emerge: join(bin, 'emerge'), venv };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, dir, repo, profile] = process.argv.slice(2);
  if (cmd === 'install') {
    console.log(ensurePortage());
  } else if (cmd === 'machine' && dir && repo) {
    console.log(JSON.stringify(makeMachine(dir, repo, profile)));
  } else {
    console.error('usage: node scripts/portage.mjs install | machine DIR REPO [PROFILE]');
    process.exit(2);
  }
}
