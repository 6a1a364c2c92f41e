import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Path of the stand-in `emerge` (test/fixtures/bin/emerge); see test/fixtures/README.md. */
export const EMERGE_STAND_IN = resolve(here, '../fixtures/bin/emerge');

/** The tiny test repository the stand-in uses when repos.conf names none. */
export const TEST_REPO = resolve(here, '../fixtures/repo');

/** The repository's profile that make.profile should point at. */
export const TEST_PROFILE = join(TEST_REPO, 'profiles/default/linux/amd64/harness');

/** What to put into a Portage root made by {@link makePortageRoot}. */
export interface PortageRootOptions {
  /** etc/portage/make.conf text. @default CFLAGS="-O2 -pipe" */
  makeConf?: string;
  /** etc/portage/package.use text (a file). */
  packageUse?: string;
  /** etc/portage/binrepos.conf text (a file). */
  binreposConf?: string;
  /** var/lib/portage/world lines. */
  world?: string[];
  /** make.profile symlink target. @default TEST_PROFILE */
  profile?: string | null;
}

/** Creates a root with etc/portage (make.conf, make.profile, ...) at `dir`; returns `dir` with a trailing slash. */
export async function makePortageRoot(dir: string, options: PortageRootOptions = {}): Promise<string> {
  const etc = join(dir, 'etc/portage');
  await mkdir(etc, { recursive: true });
  await writeFile(join(etc, 'make.conf'), options.makeConf ?? 'CFLAGS="-O2 -pipe"\nCXXFLAGS="${CFLAGS}"\n');
  if (options.profile !== null) await symlink(options.profile ?? TEST_PROFILE, join(etc, 'make.profile'));
  if (options.packageUse !== undefined) await writeFile(join(etc, 'package.use'), options.packageUse);
  if (options.binreposConf !== undefined) await writeFile(join(etc, 'binrepos.conf'), options.binreposConf);
  if (options.world) {
    await mkdir(join(dir, 'var/lib/portage'), { recursive: true });
    await writeFile(join(dir, 'var/lib/portage/world'), options.world.map((a) => `${a}\n`).join(''));
  }
  return dir.endsWith('/') ? dir : `${dir}/`;
}

/** Result of one stand-in run. */
export interface EmergeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

/** A stand-in run in progress. */
export interface StartedEmerge {
  child: ChildProcess;
  /** Output so far. */
  output(): string;
  /** Resolves when the process has exited. */
  done: Promise<EmergeRun>;
}

/**
 * Starts the stand-in with ROOT = PORTAGE_CONFIGROOT = `root` and PKGDIR = root/var/cache/binpkgs/
 * (the guide's command), plus `env`.
 */
export function startEmerge(root: string, argv: string[], env: Record<string, string> = {}): StartedEmerge {
  const child = spawn(EMERGE_STAND_IN, argv, {
    env: { ...process.env, ROOT: root, PORTAGE_CONFIGROOT: root, PKGDIR: join(root, 'var/cache/binpkgs/'), ...env },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<EmergeRun>((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolveRun({ code, signal, output }));
  });
  return { child, output: () => output, done };
}

/** Runs the stand-in to completion (see {@link startEmerge}). */
export function runEmerge(root: string, argv: string[], env: Record<string, string> = {}): Promise<EmergeRun> {
  return startEmerge(root, argv, env).done;
}
