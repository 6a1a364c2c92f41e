#!/usr/bin/env node
// Installs the workspace's dependencies with the pinned pnpm, so a fresh machine needs only Node
// and npm (and Python 3 with pip, for the pinned real Portage the tests and the demo run; the Debian
// tools they need are installed with apt-get when missing and run as root):
// `npm test` and `npm run demo` call this first. Fast when nothing changed.
import { spawnSync } from 'node:child_process';

const PNPM = 'pnpm@10.34.9';
const have = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
const [cmd, args] = have.status === 0 && have.stdout.trim() === PNPM.split('@')[1]
  ? ['pnpm', []]
  : ['npx', ['-y', PNPM]];
const res = spawnSync(cmd, [...args, 'install', '--frozen-lockfile', '--loglevel=error'], { stdio: 'inherit' });
if (res.status !== 0) {
  console.error(`bootstrap: ${cmd} ${[...args, 'install'].join(' ')} failed (exit ${res.status})`);
  process.exit(res.status ?? 1);
}

// The Debian tools (bubblewrap for the build sandbox, …; scripts/debian-tools.mjs) and real
// Portage (PyPI `portage`, pinned) for the tests and the demo: scripts/portage.mjs.
const { ensurePortage } = await import('./portage.mjs');
ensurePortage();
