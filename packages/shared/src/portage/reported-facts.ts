import { InvalidArgumentError } from '../errors.js';
import type { NativeFlags, TargetState } from '../api.js';

/**
 * The grammar of what a target reports about its machine. A target is untrusted input to the
 * host (authenticated is not trusted), and these facts leave the copied config tree: the resolved
 * `-march=native` words go into the root's make.conf and onto the host compiler's command line,
 * CPU_FLAGS_X86 into package.use, the profile into a path under the host's repository, and the
 * rest into the registry, logs and `binhostctl` output. Every fact is matched against an allow
 * list here, before the host does anything else with the report; a report with one bad word is
 * refused whole ({@link ReportedFactError}, INVALID_ARGUMENT), so such a word never reaches a
 * program, a file or a terminal.
 *
 * Refused by construction (nothing but `-m…`, `--param=…` and plain names is allowed): `-wrapper`,
 * `-fplugin=…`, `-specs=…`, `@file`, `-B…`, `-o`, `-Wl,…`/`-Wa,…`/`-Xlinker`, and any quote, space,
 * newline, `$`, backtick, comma or slash in a word.
 */

/** A reported fact that breaks its grammar. The message names the field and the offending word. */
export class ReportedFactError extends InvalidArgumentError {
  override name = 'ReportedFactError';
  constructor(
    /** The proto field, with its index for lists: `native_flags.feature_flags[3]`. */
    readonly field: string,
    /** The offending value, verbatim; undefined when the field as a whole is refused (too many words). */
    readonly word: string | undefined,
    why: string,
  ) {
    super(`report refused: ${field}${word === undefined ? '' : ` ${quoteWord(word)}`}: ${why}`);
  }
}

/** One rule: what a value must look like, and how to say it in a refusal. */
interface Rule {
  readonly re: RegExp;
  readonly rule: string;
}

/** The `-march=`/`-mtune=` values and `-m…` words of one architecture family. */
export interface FlagGrammar {
  readonly name: string;
  /** The value of `-march=` and `-mtune=`, without the option. */
  readonly cpu: Rule;
  /** A feature flag word (`-mavx2`, `-mno-xop`). */
  readonly feature: Rule;
}

/**
 * amd64 and x86: gcc's cc1 line for `-march=native` has `-march=NAME`, `-mtune=NAME`, one `-mFEATURE`
 * or `-mno-FEATURE` per ISA extension (`-msse4.1`, `-mavx10.1-256`) and `--param` cache sizes
 * (see test/fixtures/portage/gcc-march-native-v.txt). Nothing there carries `=`, `+` or `_`
 * besides -march/-mtune names (`x86-64-v3`, `skylake-avx512`).
 */
const X86: FlagGrammar = {
  name: 'amd64/x86',
  cpu: { re: /^[a-z0-9][a-z0-9_.-]*$/, rule: 'a CPU name of [a-z0-9_.-]' },
  feature: { re: /^-m(?:no-)?[a-z0-9][a-z0-9.-]*$/, rule: 'a -m<feature> or -mno-<feature> word of [a-z0-9.-]' },
};

/**
 * Other architectures: their cc1 lines also carry `-mabi=lp64`, `-mcpu=power9`, ISA strings with
 * `+` (`armv8.2-a+crc+lse`) and `_` (`rv64imafdc_zicsr`). Still only `-m` options and characters
 * that mean nothing to a shell, to make.conf or to gcc's driver.
 */
const GENERIC: FlagGrammar = {
  name: 'generic',
  cpu: { re: /^[a-z0-9][a-z0-9_.+-]*$/, rule: 'a CPU name of [a-z0-9_.+-]' },
  feature: { re: /^-m[a-z0-9][a-z0-9_.+-]*(?:=[a-z0-9][a-z0-9_.+-]*)?$/, rule: 'a -m<option>[=<value>] word of [a-z0-9_.+-]' },
};

/** Gentoo keywords the target agent reports (`os.arch()` mapped); '' from agents that predate the field. */
const X86_ARCHES = new Set(['amd64', 'x86', '']);

/** The flag grammar of a reported `arch` (a Gentoo keyword). */
export function flagGrammarFor(arch: string): FlagGrammar {
  return X86_ARCHES.has(arch) ? X86 : GENERIC;
}

/** `--param=NAME=INT` as the target reports it, or gcc's own `--param NAME=INT` (one space). */
const PARAM: Rule = { re: /^--param[= ][a-z][a-z0-9_-]*=[0-9]{1,10}$/, rule: 'a --param=<name>=<integer> word' };
/** cpuid2cpuflags' words: `aes`, `sse4_1`, `avx512_bf16`. */
const CPU_FLAG: Rule = { re: /^[a-z0-9][a-z0-9_]*$/, rule: 'a CPU_FLAGS_X86 word of [a-z0-9_]' };
/** A GNU triplet (or quadruplet): `x86_64-pc-linux-gnu`, `armv7a-unknown-linux-gnueabihf`. */
const CHOST: Rule = { re: /^$|^[a-z0-9_]+(?:-[a-z0-9_.]+){1,4}$/, rule: 'a GNU triplet (x86_64-pc-linux-gnu)' };
/** `12.2.0`: what follows "gcc version"; '' when the compiler is unknown. */
const GCC_VERSION: Rule = { re: /^$|^[0-9]{1,4}(?:\.[0-9]{1,8}){0,3}$/, rule: 'a version of digits and dots' };
/** A profile under the repository's profiles/: segments of safe characters, none '.', '..' or hidden. */
const PROFILE: Rule = {
  re: /^$|^[A-Za-z0-9_][A-Za-z0-9_.+-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.+-]*){0,31}$/,
  rule: 'a relative profile path of [A-Za-z0-9_.+-] segments (default/linux/amd64/23.0)',
};
/** `uname -r`: `6.1.0-18-amd64`, `6.6.13-gentoo-dist`, `5.15.153.1-microsoft-standard-WSL2`. */
const KERNEL_RELEASE: Rule = { re: /^[A-Za-z0-9._+~-]*$/, rule: 'a kernel release of [A-Za-z0-9._+~-]' };
/** A host name (RFC 1123, plus the `_` some networks use). */
const HOSTNAME: Rule = { re: /^$|^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, rule: 'a host name of [A-Za-z0-9_.-]' };
const ARCH: Rule = { re: /^[a-z0-9_]*$/, rule: 'an architecture keyword of [a-z0-9_]' };
/** A repository name as Portage accepts one (profiles/repo_name, a repos.conf section): `gentoo`, `guru`, `my_overlay-2`. */
const REPO_NAME: Rule = { re: /^[A-Za-z0-9_][A-Za-z0-9_-]*$/, rule: 'a repository name of [A-Za-z0-9_-]' };
/** A git commit (SHA-1 or SHA-256 object name, lowercase hex), or '' when the tree names none. */
const REPO_REVISION: Rule = { re: /^$|^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, rule: 'a git commit of 40 or 64 lowercase hex digits' };
/** Where a revision was read. */
const REPO_SOURCE: Rule = { re: /^(?:git|timestamp\.commit|timestamp\.chk|none)$/, rule: 'one of git, timestamp.commit, timestamp.chk, none' };
/**
 * Free text shown to people (warnings, the compiler's error): anything printable. C0/C1 controls
 * (newline, ESC for terminal escapes) and the Unicode line separators and bidi overrides are not.
 */
const DISPLAY_TEXT: Rule = {
  re: /^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$/,
  rule: 'printable text (no control characters)',
};
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Upper bounds far above real reports (gcc 14 resolves about 130 flags, cpuid2cpuflags about 40 words). */
const REPORTED_FACT_LIMITS = {
  /** Repositories in a repos.conf (Gentoo's overlay list has about 800; nobody configures them all). */
  repos: 256,
  /** Characters of one flag, CPU flag or name. */
  wordChars: 128,
  featureFlags: 1024,
  params: 64,
  cpuFlags: 256,
  profileChars: 512,
  hostnameChars: 253,
  /** Characters of one warning or of the compiler's error (a path of 4096 plus the reason). */
  textChars: 8192,
} as const;

/**
 * Checks every reported fact of `state` against its grammar ({@link flagGrammarFor} its `arch`)
 * and throws a {@link ReportedFactError} for the first word that breaks it. The config tree
 * (`files`) and the digest are checked elsewhere (paths, recomputed digest); limits on their size
 * are in state/report-limits.ts.
 */
export function assertReportedFacts(state: TargetState): void {
  check('arch', state.arch, ARCH, 32);
  const grammar = flagGrammarFor(state.arch);
  if (state.nativeFlags) assertNativeFlags(state.nativeFlags, grammar);
  checkList('cpu_flags_x86', state.cpuFlagsX86, CPU_FLAG, REPORTED_FACT_LIMITS.cpuFlags, REPORTED_FACT_LIMITS.wordChars);
  check('profile', state.profile, PROFILE, REPORTED_FACT_LIMITS.profileChars);
  check('chost', state.chost, CHOST, REPORTED_FACT_LIMITS.wordChars);
  check('gcc_version', state.gccVersion, GCC_VERSION, 32);
  check('kernel_release', state.kernelRelease, KERNEL_RELEASE, REPORTED_FACT_LIMITS.wordChars);
  assertReportedHostname(state.hostname);
  assertRepoRevisions(state);
  // the count of warnings is bounded with the report (MAX_REPORT_WARNINGS), before decoding
  checkList('warnings', state.warnings, DISPLAY_TEXT, Number.POSITIVE_INFINITY, REPORTED_FACT_LIMITS.textChars);
}

/** Each reported repository revision: a repository name, a commit or nothing, a known source, a sane time. */
function assertRepoRevisions(state: TargetState): void {
  // absent in states made before the field (a decoded message always has the list)
  const revs = state.repoRevisions ?? [];
  if (revs.length > REPORTED_FACT_LIMITS.repos) throw new ReportedFactError('repo_revisions', undefined, `${revs.length} repositories, over the limit of ${REPORTED_FACT_LIMITS.repos}`);
  const seen = new Set<string>();
  revs.forEach((r, i) => {
    check(`repo_revisions[${i}].name`, r.name, REPO_NAME, REPORTED_FACT_LIMITS.wordChars);
    if (seen.has(r.name)) throw new ReportedFactError(`repo_revisions[${i}].name`, r.name, 'reported twice');
    seen.add(r.name);
    check(`repo_revisions[${i}].revision`, r.revision, REPO_REVISION, 64);
    check(`repo_revisions[${i}].source`, r.source, REPO_SOURCE, 32);
    const t = r.timestamp?.getTime();
    // Gentoo's tree starts in 2000; a tree dated more than a day ahead of now is not a real one
    if (t !== undefined && !(t >= Date.UTC(1999, 0, 1) && t <= Date.now() + 86_400_000)) {
      throw new ReportedFactError(`repo_revisions[${i}].timestamp`, String(t), 'not a time between 1999 and tomorrow');
    }
  });
}

/** Checks a host name a target reports (in its state, or when it registers). */
export function assertReportedHostname(hostname: string, field = 'hostname'): void {
  check(field, hostname, HOSTNAME, REPORTED_FACT_LIMITS.hostnameChars);
}

function assertNativeFlags(n: NativeFlags, grammar: FlagGrammar): void {
  const { wordChars } = REPORTED_FACT_LIMITS;
  for (const [field, value] of [['native_flags.march', n.march], ['native_flags.mtune', n.mtune]] as const) {
    if (value === '') continue;
    check(field, value, inArch(grammar.cpu, grammar), wordChars);
    // a resolved flag is never "native": the host would build for its own CPU
    if (value === 'native') throw new ReportedFactError(field, value, 'not a resolved CPU name ("native" is what was to be resolved)');
  }
  checkList('native_flags.feature_flags', n.featureFlags, inArch(grammar.feature, grammar), REPORTED_FACT_LIMITS.featureFlags, wordChars);
  checkList('native_flags.params', n.params, PARAM, REPORTED_FACT_LIMITS.params, wordChars);
  check('native_flags.compiler', n.compiler, DISPLAY_TEXT, 1024);
  check('native_flags.error', n.error, DISPLAY_TEXT, REPORTED_FACT_LIMITS.textChars);
}

/** The rule, its refusal naming the architecture's grammar. */
function inArch(rule: Rule, grammar: FlagGrammar): Rule {
  return { re: rule.re, rule: `${rule.rule} (${grammar.name} grammar)` };
}

function check(field: string, value: string, rule: Rule, maxChars: number): void {
  if (value.length > maxChars) throw new ReportedFactError(field, value, `${value.length} characters, over the limit of ${maxChars}`);
  if (!rule.re.test(value)) throw new ReportedFactError(field, value, `not ${rule.rule}`);
}

function checkList(field: string, values: readonly string[], rule: Rule, maxCount: number, maxChars: number): void {
  if (values.length > maxCount) throw new ReportedFactError(field, undefined, `${values.length} words, over the limit of ${maxCount}`);
  values.forEach((v, i) => check(`${field}[${i}]`, v, rule, maxChars));
}

/**
 * `s` with every control character (and line separator, bidi override) written as `\u{…}`, so text
 * from a target's machine (a file name, a compiler's message) stays one printable line. The target
 * agent sends its warnings through this, so they pass {@link assertReportedFacts}.
 */
export function escapeControlChars(s: string): string {
  return s.replace(CONTROL, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** A word for a refusal message: quoted, control characters escaped, at most 120 characters. */
function quoteWord(word: string): string {
  const cut = word.length > 120 ? `${word.slice(0, 120)}…` : word;
  return `"${escapeControlChars(cut).replace(/"/g, '\\"')}"`;
}
