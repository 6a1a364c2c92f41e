import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FailedPreconditionError, tokenizeMakeConf, type Assignment } from '@binhost/shared';

/** A flag in the root's config that gcc resolves on the machine that runs it. */
export interface PerMachineFlag {
  /** Root-relative file ("etc/portage/make.conf") and line. */
  file: string;
  line: number;
  key: string;
  word: string;
}

/**
 * `-march=native`, `-mtune=native`, `-mcpu=native` (ARM, POWER) and any other `-m…=native`: gcc
 * replaces them by the CPU of the machine that compiles. With distcc that is each helper, so a
 * package would mix objects made for different CPUs.
 */
const PER_MACHINE = /^-m[a-z0-9-]+=native$/;

/** Every make.conf-syntax file of the root Portage reads flags from: make.conf (file or directory) and env/. */
async function confFiles(rootDir: string): Promise<string[]> {
  const portage = join(rootDir, 'etc/portage');
  const out: string[] = [];
  async function walk(path: string): Promise<void> {
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile()) out.push(path);
    else if (st?.isDirectory()) for (const e of (await readdir(path)).sort()) if (!e.startsWith('.')) await walk(join(path, e));
  }
  await walk(join(portage, 'make.conf'));
  await walk(join(portage, 'env'));
  return out;
}

/** The per-machine flags of a root's applied config (any variable: CC="gcc -march=native" counts too). */
async function findPerMachineFlags(rootDir: string): Promise<PerMachineFlag[]> {
  const found: PerMachineFlag[] = [];
  for (const path of await confFiles(rootDir)) {
    const file = relative(rootDir, path);
    let statements;
    try {
      statements = tokenizeMakeConf(await readFile(path, 'utf8'), file);
    } catch {
      continue; // not make.conf syntax (an env/ file Portage reads as bash): apply already vetted it
    }
    for (const a of statements.filter((s): s is Assignment => s.kind === 'assign')) {
      for (const word of a.words) if (PER_MACHINE.test(word)) found.push({ file, line: a.line, key: a.key, word });
    }
  }
  return found;
}

/** Refuses a distcc build of `root` whose config still has per-machine flags, saying where and what to do. */
export async function assertNoPerMachineFlags(root: string, rootDir: string, configFile: string): Promise<void> {
  const flags = await findPerMachineFlags(rootDir);
  if (flags.length === 0) return;
  const where = flags.map((f) => `${f.file}:${f.line} ${f.key} has ${f.word}`).join('; ');
  throw new FailedPreconditionError(
    `distcc is on for root "${root}", but its config still has flags that each machine resolves to its own CPU (${where}): ` +
      'every helper would compile for a different CPU. The host replaces -march=native/-mtune=native by the ' +
      "target's resolved flags once the target reports them (binhostctl target show NAME); spell other ones out, " +
      `or turn distcc off for this root ([distcc.roots.${root}] enabled = false in ${configFile})`,
  );
}
