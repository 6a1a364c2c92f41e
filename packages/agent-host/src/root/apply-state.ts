import { appendFile, lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AppliedConfig,
  assertReportedFacts,
  assertSafeRelativePath,
  atomicWrite,
  FailedPreconditionError,
  type CommandRunner,
  type ConfigRewrite,
  type TargetState,
} from '@binhost/shared';
import { PORTAGE_PREFIX, stageConfigTree, type HeldFile, type StagedTree } from './config-tree.js';
import { STAGING_PREFIX, swapConfig, type StepHook } from './config-swap.js';
import {
  flagVariableClosure,
  nativeUse,
  explicitCpuWords,
  type ExplicitCpuWord,
  otherNativeWords,
  parseConfFile,
  rewriteConfFile,
  setsCpuFlags,
  type ConfFile,
  type NativeReplacement,
} from './make-conf-rewrite.js';
import { fromNativeFlags, marchReplacement, missingOnHost, mtuneReplacement, type ResolvedNative } from '@binhost/shared';
import { validateFlags } from './native-flags.js';
import { ProfileMissingError } from './root-errors.js';

/** What {@link applyState} needs besides the state. */
export interface ApplyContext {
  /** Absolute path of the root. */
  rootPath: string;
  root: string;
  appliedFile: string;
  compiler: string;
  repository: string;
  runner: CommandRunner;
  /** The host's own -march=native resolution (cached by the caller); undefined if unknown. */
  hostNative: () => Promise<ResolvedNative | undefined>;
  hook?: StepHook | undefined;
}

/** Checks the profile exists in the host's repository; returns the absolute link target. */
async function hostProfile(state: TargetState, repository: string): Promise<string> {
  if (state.profile === '') throw new FailedPreconditionError('the target reported no profile (etc/portage/make.profile)');
  assertSafeRelativePath(state.profile, 'profile');
  const dir = join(repository, 'profiles', state.profile);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new ProfileMissingError(state.profile, repository);
  return dir;
}

/**
 * The replacement for `-march=native` / `-mtune=native`, each flag validated by the host's gcc.
 * Refuses a state whose flags are unknown: building with the host's CPU instead would make
 * packages that die with SIGILL on the target, or run slower.
 */
async function nativeReplacement(ctx: ApplyContext, state: TargetState, warnings: string[]): Promise<NativeReplacement> {
  const nf = state.nativeFlags;
  if (!nf?.known || nf.march === '') {
    throw new FailedPreconditionError(
      `the target's config uses -march=native but its resolved flags are unknown${nf?.error ? ` (${nf.error})` : ''}: refusing to build with the host's CPU`,
    );
  }
  const resolved = fromNativeFlags(nf);
  const march = marchReplacement(resolved);
  const mtune = mtuneReplacement(resolved);
  const v = await validateFlags(ctx.runner, ctx.compiler, [...new Set([...march, ...mtune])]);
  if (v.rejected.length > 0) {
    warnings.push(`the host's compiler ${ctx.compiler} rejects ${v.rejected.join(' ')}: dropped from the target's flags`);
  }
  const bad = new Set(v.rejected);
  const host = await ctx.hostNative();
  if (host) {
    const missing = missingOnHost(resolved, host);
    if (missing.length > 0) {
      warnings.push(
        `the target's flags need instructions this host's CPU lacks (${missing.join(' ')}): build steps that run freshly built programs may die with SIGILL`,
      );
    }
  } else {
    warnings.push("could not resolve the host's own -march=native: the SIGILL check was skipped");
  }
  return { march: march.filter((f) => !bad.has(f)), mtune: mtune.filter((f) => !bad.has(f)) };
}

/**
 * The target's own `-march=X` / `-mtune=X` choices the host's compiler does not know. They are
 * kept (the choice is the target's), but every build would fail on them: say so at apply time,
 * naming file and variable, rather than in a build log later.
 */
async function explicitCpuWarnings(ctx: ApplyContext, words: readonly ExplicitCpuWord[]): Promise<string[]> {
  if (words.length === 0) return [];
  // Unlike -march=native, nothing here depends on the check: a compiler that cannot run is a warning.
  const v = await validateFlags(ctx.runner, ctx.compiler, [...new Set(words.map((w) => w.word))]).catch((err: Error) => err);
  if (v instanceof Error) return [`could not check ${words.map((w) => w.word).join(' ')} against the host's compiler: ${v.message}`];
  const bad = new Set(v.rejected);
  return words
    .filter((w) => bad.has(w.word))
    .map((w) => `${w.where} says ${w.word}, which the host's compiler ${ctx.compiler} rejects: builds for this target will fail until it knows it`);
}

/** Whether package.use (file or directory) mentions CPU_FLAGS_X86 anywhere. */
function packageUseSetsCpuFlags(staged: StagedTree): boolean {
  for (const [path, content] of staged.contents) {
    if (path === `${PORTAGE_PREFIX}/package.use` || path.startsWith(`${PORTAGE_PREFIX}/package.use/`)) {
      if (/CPU_FLAGS_X86/i.test(Buffer.from(content).toString('utf8'))) return true;
    }
  }
  return false;
}

/** Writes package.use/00cpu-flags (or appends to a package.use file). */
async function writeCpuFlags(portageDir: string, flags: readonly string[], rewrites: ConfigRewrite[]): Promise<void> {
  const line = `*/* CPU_FLAGS_X86: ${flags.join(' ')}\n`;
  const header = '# binhost: the target\'s CPU_FLAGS_X86 (cpuid2cpuflags), which it did not set itself\n';
  const pu = join(portageDir, 'package.use');
  const st = await lstat(pu).catch(() => undefined);
  let file = `${PORTAGE_PREFIX}/package.use/00cpu-flags`;
  if (st?.isFile()) {
    await appendFile(pu, `\n${header}${line}`);
    file = `${PORTAGE_PREFIX}/package.use`;
  } else {
    await mkdir(pu, { recursive: true, mode: 0o755 });
    await writeFile(join(pu, '00cpu-flags'), header + line, { mode: 0o644, flag: 'wx' });
  }
  rewrites.push({ file, key: 'CPU_FLAGS_X86', before: '', after: flags.join(' '), reason: 'the root\'s profile cannot know the target CPU\'s flags' });
}

async function writeHeld(portageDir: string, held: readonly HeldFile[], texts: Map<string, string>): Promise<void> {
  for (const h of held) {
    const dest = join(portageDir, h.path.slice(PORTAGE_PREFIX.length + 1));
    await mkdir(join(dest, '..'), { recursive: true });
    await writeFile(dest, texts.get(h.path) ?? h.text, { mode: h.mode, flag: 'wx' });
  }
}

/** make.conf as written; the files of a make.conf/ directory each under a `# ==> path` line. */
function appliedMakeConf(held: readonly HeldFile[], texts: Map<string, string>): string {
  const text = (h: HeldFile): string => texts.get(h.path) ?? h.text;
  if (held.length === 1 && held[0]!.path === `${PORTAGE_PREFIX}/make.conf`) return text(held[0]!);
  return held.map((h) => `# ==> ${h.path}\n${text(h)}`).join('\n');
}

/**
 * Builds the root's new Portage config from a target's state in a staging directory inside
 * the root, then swaps it in and records applied.json ({@link swapConfig}). Anything refused
 * (unparseable make.conf, unknown flags, missing profile) throws before the live config is
 * touched; the staging directory is removed either way.
 */
export async function applyState(ctx: ApplyContext, state: TargetState): Promise<AppliedConfig> {
  // ReportState refuses such states; a state stored by an older host is checked here, before any
  // of its words reaches gcc or the root's make.conf
  assertReportedFacts(state);
  const profileDir = await hostProfile(state, ctx.repository);
  const staging = await mkdtemp(join(ctx.rootPath, STAGING_PREFIX));
  let swapped = false;
  try {
    const portageDir = join(staging, 'portage');
    const staged = await stageConfigTree(state.files, portageDir);
    const warnings = [...staged.warnings];
    const rewrites = [...staged.rewrites];
    const files: ConfFile[] = [...staged.makeConf, ...staged.envFiles].map((h) => parseConfFile(h.path, h.text));
    const flagVars = flagVariableClosure(files);
    const uses = nativeUse(files, flagVars);
    const native = uses.march || uses.mtune ? await nativeReplacement(ctx, state, warnings) : undefined;
    warnings.push(...otherNativeWords(files, flagVars));
    warnings.push(...(await explicitCpuWarnings(ctx, explicitCpuWords(files, flagVars))));
    const texts = new Map<string, string>();
    for (const f of files) {
      const r = rewriteConfFile(f, flagVars, native);
      texts.set(f.file, r.text);
      rewrites.push(...r.rewrites);
    }
    await writeHeld(portageDir, [...staged.makeConf, ...staged.envFiles], texts);
    if (!setsCpuFlags(files) && !packageUseSetsCpuFlags(staged) && state.cpuFlagsX86.length > 0) {
      await writeCpuFlags(portageDir, state.cpuFlagsX86, rewrites);
    }
    // Absolute: the target's relative link (../../var/db/repos/...) would resolve inside the root.
    await symlink(profileDir, join(portageDir, 'make.profile'));
    for (const [path, content] of staged.world) await writeFile(join(staging, path.slice(path.lastIndexOf('/') + 1)), content, { mode: 0o644 });
    const applied: AppliedConfig = {
      digest: state.digest,
      appliedAt: new Date(),
      makeConf: appliedMakeConf(staged.makeConf, texts),
      rewrites,
      warnings,
      root: ctx.root,
    };
    await swapConfig(
      ctx.rootPath,
      staging,
      () => atomicWrite(ctx.appliedFile, `${JSON.stringify(AppliedConfig.toJSON(applied), null, 2)}\n`, { mkdirs: true }),
      ctx.hook,
    );
    swapped = true;
    return applied;
  } finally {
    if (!swapped) await rm(staging, { recursive: true, force: true });
  }
}
