import { arch, hostname, release } from 'node:os';
import { collectRepoRevisions, escapeControlChars, FileKind, stateDigest, type FileEntry, type Logger, type TargetState } from '@binhost/shared';
import { walkTree } from './tree-walk.js';
import { makeConfVars, splitWords } from './make-conf.js';
import { resolveNativeFlags } from './native-flags.js';
import { readCpuFlagsX86 } from './cpu-flags.js';
import { profileChost } from './profile-chost.js';
import type { CompilerRunner } from './run-compiler.js';

/** Options for {@link collectTargetState}. */
export interface CollectOptions {
  /** The target's root ('/' in production). */
  root: string;
  /** report.max_file_bytes. */
  maxFileBytes: number;
  log: Logger;
  /** Seams for tests; the defaults run the real compiler and read the real CPU. */
  runCompiler?: CompilerRunner;
  cpuinfoFile?: string;
  readFile?: (absPath: string) => Buffer;
}

/** The files of a target's state besides the etc/portage tree. */
const WORLD_FILES = ['var/lib/portage/world', 'var/lib/portage/world_sets'] as const;

/**
 * Takes a snapshot of the target: the etc/portage tree, world and world_sets (root-relative
 * paths, bytewise sorted), the profile, CHOST (make.conf, else the profile's, else the compiler's), compiler and kernel facts, the resolved
 * `-march=native` and CPU_FLAGS_X86, and the canonical digest of the files. Never throws for
 * problems with the target's files: each one becomes a warning in the state and a log line.
 */
export async function collectTargetState(options: CollectOptions): Promise<TargetState> {
  const walkOptions = { root: options.root, maxFileBytes: options.maxFileBytes, ...(options.readFile ? { readFile: options.readFile } : {}) };
  const tree = await walkTree('etc/portage', walkOptions);
  const warnings = [...tree.warnings];
  if (!tree.entries.some((e) => e.path === 'etc/portage')) warnings.push('etc/portage: missing or not a directory; reporting an empty configuration');
  const files = [...tree.entries];
  for (const rel of WORLD_FILES) {
    const w = await walkTree(rel, walkOptions);
    files.push(...w.entries.filter((e) => e.kind !== FileKind.FILE_KIND_DIRECTORY));
    warnings.push(...w.warnings);
    if (w.entries.length === 0 && rel === 'var/lib/portage/world') warnings.push(`${rel}: missing; reporting an empty world`);
  }
  files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));

  const vars = makeConfVars(files);
  const cc = vars.get('CC');
  // Portage's CHOST: make.conf, else the profile's; the compiler's triplet only when neither says.
  const chost = vars.get('CHOST') || profileChost(options.root, files);
  const compiler = await resolveNativeFlags({
    cc: cc ? splitWords(cc) : undefined,
    chost,
    ...(options.runCompiler ? { run: options.runCompiler } : {}),
  });
  if (!compiler.native.known) warnings.push(`-march=native unknown: ${compiler.native.error}`);
  const cpu = await readCpuFlagsX86(options.cpuinfoFile);
  if (cpu.warning) warnings.push(cpu.warning);

  for (const w of warnings) options.log.warn({ warning: w }, 'state collection problem');
  // The host refuses control characters in text it shows (a FIFO named "a\nb", a compiler's message)
  const native = { ...compiler.native, compiler: escapeControlChars(compiler.native.compiler), error: escapeControlChars(compiler.native.error) };
  return {
    digest: stateDigest(files),
    files,
    profile: profileOf(files),
    chost: chost || compiler.target,
    gccVersion: compiler.gccVersion,
    kernelRelease: release(),
    nativeFlags: native,
    cpuFlagsX86: cpu.flags,
    collectedAt: new Date(),
    warnings: warnings.map(escapeControlChars),
    hostname: hostname(),
    arch: gentooArch(arch()),
    repoRevisions: await collectRepoRevisions(options.root),
  };
}

/**
 * The profile make.profile selects, as `eselect profile` names it: the link target's part after
 * the last "profiles/" ("default/linux/amd64/23.0"). A make.profile directory (a local profile)
 * is reported as "etc/portage/make.profile"; a link elsewhere verbatim; none as "".
 */
export function profileOf(files: readonly FileEntry[]): string {
  const link = files.find((f) => f.path === 'etc/portage/make.profile');
  if (!link) return '';
  if (link.kind !== FileKind.FILE_KIND_SYMLINK) return 'etc/portage/make.profile';
  const target = link.linkTarget.replace(/\/+$/, '');
  const at = target.lastIndexOf('profiles/');
  return at >= 0 && (at === 0 || target[at - 1] === '/') ? target.slice(at + 'profiles/'.length) : target;
}

/** Node's architecture name as Gentoo's keyword (x64 → amd64). */
function gentooArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: 'x86', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64', riscv64: 'riscv', loong64: 'loong', s390x: 's390' };
  return map[nodeArch] ?? nodeArch;
}
