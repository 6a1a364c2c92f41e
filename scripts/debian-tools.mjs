// The Debian tools the tests and the demo run beside Node and Python, with their packages. A
// fresh machine of the project's image lacks some (bubblewrap above all: every build runs in its
// sandbox). Run as root with apt-get, the missing ones are installed; otherwise each is named
// with the command that installs it.
import { spawnSync } from 'node:child_process';

/** [program, Debian package, what needs it, whether Portage cannot run without it] */
const TOOLS = [
  ['python3', 'python3', 'running Portage', true],
  ['tar', 'tar', 'GNU tar (Portage calls it gtar)', true],
  ['gpg', 'gnupg', 'signing and verifying binary packages', true],
  ['zstd', 'zstd', 'gpkg members', true],
  ['bzip2', 'bzip2', "Portage's environment.bz2", true],
  ['bwrap', 'bubblewrap', 'the build sandbox'],
  ['scanelf', 'pax-utils', "Portage's REQUIRES/PROVIDES of binary packages"],
  ['tmux', 'tmux', "binhostctl's terminal tests"],
  ['zsh', 'zsh', 'the completion tests'],
  ['distccd', 'distcc', 'the distcc tests'],
];

/** Where `program` is on PATH, or ''. */
export function which(program) {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program], { encoding: 'utf8' }).stdout.trim();
}
const has = (program) => which(program) !== '';

/**
 * Installs (as root, with apt-get) or names the Debian packages that are missing. Returns the
 * programs Portage cannot run without that are still missing.
 */
export function ensureDebianTools() {
  const required = () => TOOLS.filter(([program, , , needed]) => needed && !has(program)).map(([program]) => program);
  const missing = TOOLS.filter(([program]) => !has(program));
  if (missing.length === 0) return [];
  const packages = missing.map(([, pkg]) => pkg);
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.error(`bootstrap: installing ${packages.join(' ')} (apt-get)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    const install = update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (install && install.status === 0) return required();
    console.error('bootstrap: apt-get could not install them');
  }
  for (const [program, pkg, why] of missing) console.error(`bootstrap: "${program}" not found (${why}): apt-get install ${pkg}`);
  return required();
}
