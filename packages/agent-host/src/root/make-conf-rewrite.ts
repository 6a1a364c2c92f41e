import { escapeForDoubleQuotes, referencedNames, tokenizeMakeConf, type Assignment, type ConfigRewrite, type Statement } from '@binhost/shared';
import { FLAG_VARIABLES, SCRUB_RULES } from './scrub-rules.js';

/** A parsed make.conf-syntax file of the target, ready to rewrite. */
export interface ConfFile {
  /** Root-relative path ("etc/portage/make.conf"). */
  file: string;
  text: string;
  statements: Statement[];
}

/** Parses one file; throws MakeConfSyntaxError (file:line) when Portage could not read it. */
export function parseConfFile(file: string, text: string): ConfFile {
  return { file, text, statements: tokenizeMakeConf(text, file) };
}

/**
 * The flag variables of all files plus every variable they reference, transitively
 * (`CFLAGS="${COMMON_FLAGS}"` makes COMMON_FLAGS one).
 */
export function flagVariableClosure(files: readonly ConfFile[]): Set<string> {
  const set = new Set(FLAG_VARIABLES);
  const assigns = files.flatMap((f) => f.statements.filter((s): s is Assignment => s.kind === 'assign'));
  for (let grew = true; grew; ) {
    grew = false;
    for (const a of assigns) {
      if (!set.has(a.key)) continue;
      for (const name of a.words.flatMap(referencedNames)) {
        if (!set.has(name)) {
          set.add(name);
          grew = true;
        }
      }
    }
  }
  return set;
}

/** Whether a flag variable says `-march=native` / `-mtune=native` anywhere. */
export function nativeUse(files: readonly ConfFile[], flagVars: Set<string>): { march: boolean; mtune: boolean } {
  const words = files.flatMap((f) => f.statements.filter((s): s is Assignment => s.kind === 'assign' && flagVars.has(s.key))).flatMap((a) => a.words);
  return { march: words.includes('-march=native'), mtune: words.includes('-mtune=native') };
}

/** Replacements computed (and validated against the host's gcc) by the caller. */
export interface NativeReplacement {
  march: string[];
  mtune: string[];
}

/** The rewritten text of one file and what was changed. */
export interface RewrittenFile {
  file: string;
  text: string;
  rewrites: ConfigRewrite[];
}

const RULES = new Map(SCRUB_RULES.map((r) => [r.key, r]));

/** What one statement becomes: unchanged (undefined), new words, or removed (null). */
function decide(s: Statement, flagVars: Set<string>, native: NativeReplacement | undefined): { words: string[] | null; reasons: string[] } | undefined {
  if (s.kind === 'source') return { words: null, reasons: ['reads a file from the building machine, not the target'] };
  const rule = RULES.get(s.key);
  const reasons: string[] = [];
  let words: string[] | null = s.words;
  if (rule && !rule.words) return { words: null, reasons: [rule.reason] };
  if (rule?.words) {
    const drop = new Set(rule.words);
    const kept = words.filter((w) => !drop.has(w));
    if (kept.length !== words.length) {
      words = kept;
      reasons.push(rule.reason);
    }
  }
  if (native && flagVars.has(s.key) && words.some((w) => w === '-march=native' || w === '-mtune=native')) {
    // the resolved flags are values: spelled so that Portage reads back exactly them
    const literal = (values: readonly string[]) => values.map(escapeForDoubleQuotes);
    words = words.flatMap((w) => (w === '-march=native' ? literal(native.march) : w === '-mtune=native' ? literal(native.mtune) : [w]));
    reasons.push("-march=native would mean the host's CPU: replaced by the target's resolved flags");
  }
  return reasons.length > 0 ? { words, reasons } : undefined;
}

/** `# binhost: was ...` on every line of the original statement. */
function commentOut(original: string, removed: boolean): string {
  const tag = removed ? '# binhost: removed ' : '# binhost: was ';
  return original
    .split('\n')
    .map((l) => tag + l)
    .join('\n');
}

/**
 * Rewrites one parsed file: scrubbed assignments removed, `getbinpkg` dropped from FEATURES,
 * `-march=native`/`-mtune=native` in flag variables replaced. Every changed statement keeps its
 * original as a `# binhost: was` / `# binhost: removed` comment above it, and is recorded as a
 * {@link ConfigRewrite}. Untouched bytes stay as they were.
 */
export function rewriteConfFile(f: ConfFile, flagVars: Set<string>, native: NativeReplacement | undefined): RewrittenFile {
  const rewrites: ConfigRewrite[] = [];
  let out = '';
  let pos = 0;
  for (const s of f.statements) {
    const d = decide(s, flagVars, native);
    if (!d) continue;
    const original = f.text.slice(s.start, s.end);
    const key = s.kind === 'assign' ? s.key : 'source';
    const before = s.kind === 'assign' ? s.words.join(' ') : s.path;
    out += f.text.slice(pos, s.start);
    if (d.words === null || s.kind === 'source') {
      out += commentOut(original, true);
      rewrites.push({ file: f.file, key, before, after: '', reason: d.reasons.join('; ') });
    } else {
      const after = d.words.join(' ');
      out += `${commentOut(original, false)}\n${s.exported ? 'export ' : ''}${s.key}="${after}"`;
      rewrites.push({ file: f.file, key, before, after, reason: d.reasons.join('; ') });
    }
    pos = s.end;
  }
  out += f.text.slice(pos);
  return { file: f.file, text: out, rewrites };
}

/** Whether any assignment sets CPU_FLAGS_X86. */
export function setsCpuFlags(files: readonly ConfFile[]): boolean {
  return files.some((f) => f.statements.some((s) => s.kind === 'assign' && s.key === 'CPU_FLAGS_X86'));
}

/** Words anywhere that still tie the build to the building machine's CPU (RUSTFLAGS's target-cpu=native). */
export function otherNativeWords(files: readonly ConfFile[], flagVars: Set<string>): string[] {
  const found: string[] = [];
  for (const f of files) {
    for (const s of f.statements) {
      if (s.kind !== 'assign') continue;
      if (s.words.some((w) => /target-cpu=native/.test(w))) found.push(`${f.file}: ${s.key} uses target-cpu=native`);
      else if (!flagVars.has(s.key) && s.words.some((w) => /^-m(arch|tune)=native$/.test(w))) found.push(`${f.file}: ${s.key} uses -march=native outside the compiler flag variables`);
    }
  }
  return found;
}

/** An explicit CPU choice of the target's own (`-march=znver3`, `-mtune=generic`) and where it is. */
export interface ExplicitCpuWord {
  word: string;
  /** "etc/portage/make.conf: CFLAGS" */
  where: string;
}

/**
 * The `-march=`/`-mtune=` words of the flag variables other than `native` (which is resolved and
 * validated on its own) and without `$` references (only the shell knows those), in file order.
 */
export function explicitCpuWords(files: readonly ConfFile[], flagVars: Set<string>): ExplicitCpuWord[] {
  const found: ExplicitCpuWord[] = [];
  for (const f of files) {
    for (const s of f.statements) {
      if (s.kind !== 'assign' || !flagVars.has(s.key)) continue;
      for (const word of s.words) {
        if (/^-m(arch|tune)=[^$]+$/.test(word) && !/=native$/.test(word)) found.push({ word, where: `${f.file}: ${s.key}` });
      }
    }
  }
  return found;
}
