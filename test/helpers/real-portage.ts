import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_PROFILE, TEST_REPO } from './emerge-stand-in.js';

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
