import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstallResult } from '@binhost/shared';
import { TEST_PROFILE, TEST_REPO } from './emerge-stand-in.js';
import type { StartedHost } from './start-host.js';
import { waitFor } from './wait-for.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/portage.mjs', import.meta.url));

/** A build machine for real Portage: its running root, and the wrapper the agents run as emerge. */
export interface PortageMachine {
  machine: string;
  /** `<machine>/bin/emerge`: real Portage (the pinned release in .portage/venv) with this running root. */
  emerge: string;
  bin: string;
}

/**
 * Makes `dir` a machine that runs real Portage (scripts/portage.mjs machine): what `/` is to its
 * emerge, with the tiny test repository as its only repository. One per test: `--root-deps`
 * merges build dependencies into it, and two tests must not wait on each other's vdb lock.
 */
export function makePortageMachine(dir: string): Promise<PortageMachine> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [SCRIPT, 'machine', dir, TEST_REPO], { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`scripts/portage.mjs machine failed: ${stderr || err.message}`)) : resolve(JSON.parse(stdout) as PortageMachine),
    ),
  );
}

/** A target's own system for real Portage: make.conf, make.profile, repos.conf, @world. */
export async function makeTargetSystem(root: string, options: { makeConf: string; world: readonly string[]; packageUse?: string }): Promise<void> {
  const etc = join(root, 'etc/portage');
  await mkdir(etc, { recursive: true });
  await mkdir(join(root, 'var/lib/portage'), { recursive: true });
  await writeFile(join(etc, 'make.conf'), options.makeConf);
  await writeFile(join(etc, 'repos.conf'), `[DEFAULT]\nmain-repo = gentoo\n\n[gentoo]\nlocation = ${TEST_REPO}\n`);
  await symlink(TEST_PROFILE, join(etc, 'make.profile'));
  if (options.packageUse !== undefined) await writeFile(join(etc, 'package.use'), options.packageUse);
  await writeFile(join(root, 'var/lib/portage/world'), options.world.map((a) => `${a}\n`).join(''));
}

/**
 * host.toml's `[build]` for real Portage on `machine`: its emerge, the test repository, and the
 * machine (Portage's running root) as what --root-deps may write, into each root's own layer.
 */
export function realPortageBuildConfig(machine: PortageMachine, extra = ''): string {
  return `[build]\nemerge = [${JSON.stringify(machine.emerge)}]\nrepository = ${JSON.stringify(TEST_REPO)}\ncancel_grace_seconds = 5\nhost_writable = [${JSON.stringify(machine.machine)}]\n${extra}`;
}

/** target.toml's extra for real Portage: quick reports, automatic installs with the machine's emerge. */
export function realPortageTargetConfig(machine: PortageMachine): string {
  return `[report]\ndebounce_ms = 200\n[install]\npolicy = "auto"\nemerge = [${JSON.stringify(machine.emerge)}]\n`;
}

/** The install report `target` sent for `snapshotId` (it mirrors and installs by itself). */
export function installReportOf(host: StartedHost, target: string, snapshotId: number): Promise<InstallResult> {
  return waitFor(async () => {
    const last = await host.daemon.installs.last(target);
    return last && last.snapshotId === snapshotId && last;
  }, { timeoutMs: 240_000, what: `${target}'s install report of snapshot ${snapshotId}` });
}
