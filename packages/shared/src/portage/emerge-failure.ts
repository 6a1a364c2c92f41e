import { stripAnsi } from './emerge-progress.js';

/**
 * Why an emerge run failed, read from its output in words an admin acts on. The shapes are real
 * Portage's (test/fixtures/portage/transcripts/: refused-*.txt, target-use-mismatch-refused.txt,
 * target-pretend-missing.txt, binhost-build-broken.txt, signed-build-without-binhost-keyring.txt;
 * test/fixtures/portage-made/emerge-no-ebuilds*.txt).
 */
export type EmergeFailureKind =
  /** gpg: NO_PUBKEY — the verifying keyring lacks the signer's key. */
  | 'unknown-key'
  /** gpg: TRUST_UNDEFINED — the key is there, its trust is not (or the trustdb is stale). */
  | 'untrusted-key'
  /** gpg: NODATA — no signature at all, with verify-signature = true. */
  | 'unsigned'
  /** gpg: BADSIG — the package changed after it was signed. */
  | 'bad-signature'
  /** The binhost's own check of a package it has just signed failed (its verify keyring). */
  | 'host-verify'
  /** A downloaded file does not match the index's digests. */
  | 'digest'
  /** `--binpkg-respect-use`: the binary package was built with other USE flags ("masked by: "). */
  | 'use-mismatch'
  /** Masked by keywords, license, package.mask, … */
  | 'masked'
  /** No binary package for an atom (`--getbinpkgonly`). */
  | 'no-binary'
  /** No ebuild for an atom (an unknown or misspelt package); detail: Portage's suggestions, if any. */
  | 'no-ebuild'
  /** An ebuild phase died (compile, install, …). */
  | 'phase';

/** One failure cause found in emerge's output. */
export interface EmergeFailure {
  kind: EmergeFailureKind;
  /** The package concerned ("app-misc/greet-1.0"), or the atom for `no-binary`, when known. */
  subject: string;
  /** The ebuild phase, for `phase`. */
  phase: string;
  /** Portage's own words: the die message, the gpg summary, the mask reason. */
  detail: string;
  /** The last lines of output before the failure summary, ANSI-free (for `phase`). */
  lastLines: string[];
}

const SIGNATURE_SUMMARIES: ReadonlyArray<readonly [RegExp, EmergeFailureKind]> = [
  [/binpkg signed with at least one unknown key/, 'unknown-key'],
  [/binpkg signed with a known key of undefined trust/, 'untrusted-key'],
  [/binpkg appears unsigned/, 'unsigned'],
  [/\[GNUPG:\] BADSIG /, 'bad-signature'],
];

const EXTRACT_REFUSED = /^!!! Error extracting '(.+)', GnuPG verification failed/;
const HOST_VERIFY = /^!!! Invalid binary package: '(.+)', GnuPG verification failed/;
const DIGEST = /^!!! (?:Digest verification failed|Fetched file .* failed digest check|Previously fetched file: .* )/;
const DIGEST_FILE = /^!!! (?:Digest verification failed:?|Previously fetched file:)\s*'?([^']*)'?/;
const MASKED_ALL = /^!!! All ebuilds that could satisfy "(.+)" for \S+ have been masked\./;
const MASKED_BY = /^- (\S+?)(?:::\S+)? \(masked by: (.*)\)$/;
const NO_BINARY = /^emerge: there are no binary packages to satisfy "(.+)" for /;
const NO_EBUILD = /^emerge: there are no ebuilds to satisfy "(.+)"(?: for \S+?)?\.?$/;
const SIMILAR = /^emerge: Maybe you meant (?:any of these: )?(.+?)\??$/;
/** Portage's suggestions are kept up to this length (it lists few, but names can be long). */
const SIMILAR_MAX = 200;
const PHASE_ERROR = /^\s*\*\s+ERROR: (\S+?)(?:::\S+)? failed \(([a-z_]+) phase\):/;
const FAILED_TO_EMERGE = /^>>> Failed to emerge (\S+?)(?:::\S+)?(?:,| for )/;
const EMERGING = /^>>> Emerging (?:binary )?\(\d+ of \d+\) (\S+?)(?:::\S+)?(?: for .*)?$/;

/** How many lines before a phase failure are kept. */
const LAST_LINES = 8;

/**
 * The first failure emerge reported, or undefined when the output names none (the caller then
 * says how emerge exited). Lines may carry colour sequences.
 */
export function findEmergeFailure(rawLines: readonly string[]): EmergeFailure | undefined {
  const lines = rawLines.map((l) => stripAnsi(l).trimEnd());
  let current = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let m = EMERGING.exec(line);
    if (m) current = m[1]!;
    if ((m = EXTRACT_REFUSED.exec(line)) || (m = HOST_VERIFY.exec(line))) {
      const block = lines.slice(Math.max(0, i - 40), i);
      const found = SIGNATURE_SUMMARIES.find(([re]) => block.some((l) => re.test(l)));
      const summary = summaryOf(block);
      const kind: EmergeFailureKind = HOST_VERIFY.test(line) ? 'host-verify' : (found?.[1] ?? 'bad-signature');
      return failure(kind, current || m[1]!, '', found && kind === 'host-verify' ? `${summary}` : summary);
    }
    if (DIGEST.test(line)) return failure('digest', current, '', DIGEST_FILE.exec(line)?.[1] ?? line);
    if ((m = MASKED_ALL.exec(line))) {
      const by = lines.slice(i + 1, i + 6).map((l) => MASKED_BY.exec(l)).find(Boolean);
      const reason = by?.[2]?.trim() ?? '';
      return failure(reason ? 'masked' : 'use-mismatch', by?.[1] ?? m[1]!, '', reason);
    }
    if ((m = NO_BINARY.exec(line))) return failure('no-binary', m[1]!, '', '');
    if ((m = NO_EBUILD.exec(line))) {
      // "searching for similar names..." then "Maybe you meant …?" (or "nothing similar found.")
      const similar = lines.slice(i + 1, i + 5).map((l) => SIMILAR.exec(l)?.[1]).find(Boolean) ?? '';
      return failure('no-ebuild', m[1]!, '', similar.length <= SIMILAR_MAX ? similar : '');
    }
    if ((m = PHASE_ERROR.exec(line))) {
      // the die message is the next " * " line of the ERROR block
      const die = /^\s*\*\s+(.+)$/.exec(lines[i + 1] ?? '')?.[1]?.trim() ?? '';
      const before = lines.slice(0, i).filter((l) => l.trim() && !/^\s*\*\s*$/.test(l));
      return { kind: 'phase', subject: m[1]!, phase: m[2]!, detail: die, lastLines: before.slice(-LAST_LINES) };
    }
    if ((m = FAILED_TO_EMERGE.exec(line)) && !current) current = m[1]!;
  }
  return undefined;
}

function failure(kind: EmergeFailureKind, subject: string, phase: string, detail: string): EmergeFailure {
  return { kind, subject, phase, detail, lastLines: [] };
}

/** The line after " * Summary:" in gpkg.py's refusal block (e.g. "(none available)"). */
function summaryOf(block: readonly string[]): string {
  const at = block.findIndex((l) => /^\s*\*\s+Summary:/.test(l));
  return at >= 0 ? (block[at + 1] ?? '').replace(/^\s*\*\s*/, '').trim() : '';
}

/** One sentence: what failed and what to do. */
export function describeEmergeFailure(f: EmergeFailure): string {
  const pkg = f.subject || 'a package';
  switch (f.kind) {
    case 'unknown-key':
      return `signature refused for ${pkg}: signed with a key the keyring does not have (${f.detail}); the target imports the host's key on connect, check the agent log`;
    case 'untrusted-key':
      return `signature refused for ${pkg}: signed with a known key of undefined trust; the keyring's trustdb does not trust the host's key`;
    case 'unsigned':
      return `signature refused for ${pkg}: the package is unsigned and the binrepo has verify-signature = true; turn signing on on the host (signing.enabled)`;
    case 'bad-signature':
      return `signature refused for ${pkg}: BAD signature (${f.detail || 'gpg BADSIG'}); the package changed after it was signed, rebuild it`;
    case 'host-verify':
      return `the host could not verify ${pkg} it had just signed (${f.detail || 'GnuPG verification failed'}): its verify keyring must be readable by nobody and trust the signing key`;
    case 'digest':
      return `digest verification failed for ${pkg}${f.detail ? ` (${f.detail})` : ''}`;
    case 'use-mismatch':
      return `USE mismatch: the binary package of ${pkg} was built with other USE flags than the target now asks for; the automatic build catches up`;
    case 'masked':
      return `${pkg} is masked (masked by: ${f.detail})`;
    case 'no-binary':
      return `no binary package for ${pkg}: build it on the host first (binhostctl emerge NAME -- ${pkg})`;
    case 'no-ebuild':
      return `there are no ebuilds to satisfy "${f.subject}"${f.detail ? `; maybe you meant ${f.detail}?` : ''}`;
    case 'phase': {
      const last = f.lastLines.length ? `; last lines: ${f.lastLines.slice(-3).join(' | ')}` : '';
      return `${pkg} failed in the ${f.phase} phase${f.detail ? `: ${f.detail}` : ''}${last}`;
    }
  }
}

/** {@link describeEmergeFailure} of the first failure in `lines`, or undefined. */
export function explainEmergeFailure(lines: readonly string[]): string | undefined {
  const f = findEmergeFailure(lines);
  return f && describeEmergeFailure(f);
}
