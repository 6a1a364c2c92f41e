import type { InstallPlan, PlannedPackage } from '@binhost/shared';

/** emerge's default when no arguments are given. */
export const DEFAULT_INSTALL_ARGS: readonly string[] = ['--update', '--deep', '--newuse', '@world'];

/** The flags every install (and its plan) runs with: `-G` alone would take other USE flags. */
export const INSTALL_FLAGS: readonly string[] = ['--getbinpkgonly', '--binpkg-respect-use=y', '--binpkg-changed-deps=y'];

// "[binary  N g   ] app-misc/hello-1.0-1 to /root/ USE=..." and "[ebuild  U  ] cat/pkg-2.0 [1.0]"
const LINE = /^\[(binary|ebuild|nomerge|blocks|uninstall)\s+([^\]]*)\]\s+(\S+)/;
// a trailing "-<digits>" after the version is the binpkg BUILD_ID (revisions are "-rN")
const BUILD_ID = /^(.+-\d[^/]*?)-(\d+)$/;
const PROBLEMS: readonly RegExp[] = [
  /^emerge: there are no binary packages to satisfy .*/,
  /^!!! All ebuilds that could satisfy .* have been masked\./,
  /^- \S+ \(masked by: .*\)$/,
  // not "!!! Problem with sandbox binary. Disabling...": real emerge warns so without sys-apps/sandbox
  /^!!! (?:Multiple package instances|The following .* blocked|Error|Problem resolving dependencies).*/,
  /^emerge: there are no ebuilds to satisfy .*/,
];

/** Strips ESC colour sequences, which emerge prints even when not on a terminal. */
export function stripAnsi(line: string): string {
   
  return line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}

/**
 * Reads `emerge --pretend` output into an {@link InstallPlan}: one {@link PlannedPackage} per
 * `[kind flags] cpv` line, the problems emerge reported (no binary package, masked by USE), and
 * whether the plan is binary only. A failing pretend (`exitCode` ≠ 0) is never binary only.
 */
export function parsePlan(lines: readonly string[], exitCode: number | null, snapshotId: number, args: readonly string[]): InstallPlan {
  const packages: PlannedPackage[] = [];
  const problems: string[] = [];
  for (const raw of lines) {
    const line = stripAnsi(raw).trimEnd();
    const m = LINE.exec(line);
    if (m) {
      const [, kind = '', flags = '', atom = ''] = m;
      const b = kind === 'binary' ? BUILD_ID.exec(atom) : null;
      packages.push({ kind, flags: flags.trim(), cpv: b?.[1] ?? atom, buildId: b?.[2] ?? '', line });
      continue;
    }
    if (PROBLEMS.some((re) => re.test(line))) problems.push(line);
  }
  if (exitCode !== 0 && problems.length === 0) problems.push(`emerge --pretend exited with ${exitCode ?? 'a signal'}`);
  const binaryOnly = exitCode === 0 && problems.length === 0 && packages.every((p) => p.kind === 'binary');
  return { snapshotId, packages, binaryOnly, args: [...args], problems };
}
