/**
 * Reads emerge's progress out of its output, line by line. The formats are Portage 3.0.82's, as
 * recorded in test/fixtures/portage/transcripts/binhost-build.txt and binhost-build-broken.txt.
 */

/** Where a build is, as far as emerge's output tells. */
export interface EmergeProgress {
  /** "app-misc/hello-1.0", without the "::repo" suffix. */
  currentPackage: string;
  /** emerge's "(2 of 4)". */
  packageIndex: number;
  packageCount: number;
  /** The ebuild phase in progress ("compile", "install", "package", ...). */
  phase: string;
  /** "app-misc/broken-1.0 failed (compile phase)", from the ebuild's ERROR line. */
  failure: string;
  /** The lock file emerge said it is waiting for (another emerge holds the root). */
  waitingForLock: string;
  /** emerge listed preserved libraries and asks for `emerge @preserved-rebuild`. */
  preservedLibs: boolean;
}

/** A fresh progress record. */
export function emptyProgress(): EmergeProgress {
  return { currentPackage: '', packageIndex: 0, packageCount: 0, phase: '', failure: '', waitingForLock: '', preservedLibs: false };
}

// ESC [ ... letter: ebuild helpers and gcc colour their output even when not on a terminal.
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The line without terminal colour sequences. */
export function stripAnsi(line: string): string {
  return line.replace(ANSI, '');
}

// ">>> Emerging (2 of 4) app-misc/hello-1.0::gentoo for /root/", also "Emerging binary (1 of 1)".
const EMERGING = /^>>> Emerging (?:binary )?\((\d+) of (\d+)\) (\S+?)(?:::\S+)?(?: for .*)?$/;
const INSTALLING = /^>>> Installing \((\d+) of (\d+)\) /;
const COMPLETED = /^>>> Completed \((\d+) of (\d+)\) /;
// " * ERROR: app-misc/broken-1.0::gentoo failed (compile phase):"
const EBUILD_ERROR = /^\s*\*\s+ERROR: (\S+?)(?:::\S+)? failed \(([a-z_]+) phase\)/;
const FAILED_TO_EMERGE = /^>>> Failed to emerge (\S+?)(?:::\S+)?(?:,| for )/;
// portage/locks.py: "waiting for lock on /var/db/.pkg.portage_lockfile" (real emerge then waits);
// the stand-in refuses at once: "!!! /r/var/db/.pkg.portage_lockfile is locked by another emerge (pid 7); …"
const WAITING_FOR_LOCK = /waiting for lock on (\S+)|^!!! (\S+) is locked by another emerge/i;

// _emerge/post_emerge.py after a run: "!!! existing preserved libs:" (or "… found" with --quiet)
const PRESERVED_LIBS = /^!!! existing preserved libs/;

/** Phase-start lines and the phase name each begins. */
const PHASES: ReadonlyArray<readonly [prefix: string, phase: string]> = [
  ['>>> Unpacking source', 'unpack'],
  ['>>> Preparing source', 'prepare'],
  ['>>> Configuring source', 'configure'],
  ['>>> Compiling source', 'compile'],
  ['>>> Test phase', 'test'],
  ['>>> Install ', 'install'],
  ['>>> Creating binpkg', 'package'],
];

/**
 * Updates `progress` from one output line; returns whether anything changed. A failure is kept
 * once seen (the first failing package is the one to report).
 */
export function parseEmergeLine(progress: EmergeProgress, raw: string): boolean {
  const line = stripAnsi(raw);
  let m = EMERGING.exec(line);
  if (m) {
    progress.packageIndex = Number(m[1]);
    progress.packageCount = Number(m[2]);
    progress.currentPackage = m[3] ?? '';
    progress.phase = 'setup';
    return true;
  }
  if ((m = INSTALLING.exec(line))) return setPhase(progress, 'merge');
  if ((m = COMPLETED.exec(line))) return setPhase(progress, 'done');
  if ((m = EBUILD_ERROR.exec(line))) {
    if (!progress.failure) progress.failure = `${m[1]} failed (${m[2]} phase)`;
    return true;
  }
  if ((m = FAILED_TO_EMERGE.exec(line))) {
    if (!progress.failure) progress.failure = `${m[1]} failed${progress.phase ? ` (${progress.phase} phase)` : ''}`;
    return true;
  }
  if (PRESERVED_LIBS.test(line)) {
    progress.preservedLibs = true;
    return true;
  }
  if ((m = WAITING_FOR_LOCK.exec(line))) {
    progress.waitingForLock = m[1] ?? m[2] ?? '';
    return true;
  }
  for (const [prefix, phase] of PHASES) if (line.startsWith(prefix)) return setPhase(progress, phase);
  return false;
}

function setPhase(progress: EmergeProgress, phase: string): boolean {
  if (progress.phase === phase) return false;
  progress.phase = phase;
  return true;
}
