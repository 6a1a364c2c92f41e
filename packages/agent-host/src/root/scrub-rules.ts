/**
 * What must not cross over from a target's config into the host's root, each with the reason
 * (README "Host roots and the applied config" repeats this list).
 */
export interface ScrubRule {
  /** make.conf variable. */
  key: string;
  /** Remove only these words from the value (FEATURES); otherwise the whole assignment goes. */
  words?: readonly string[];
  reason: string;
}

/** Variables scrubbed from make.conf and env/ files. */
export const SCRUB_RULES: readonly ScrubRule[] = [
  { key: 'FEATURES', words: ['getbinpkg'], reason: 'builds must never pull foreign binary packages into the root' },
  { key: 'PORTAGE_BINHOST', reason: 'a binhost of the target (possibly this host) must not feed the build' },
  { key: 'PKGDIR', reason: 'the host sets PKGDIR to the root\'s own var/cache/binpkgs for every build' },
  { key: 'DISTDIR', reason: 'a path on the target; the host keeps its own distfiles' },
  { key: 'PORTAGE_TMPDIR', reason: 'a path on the target (often a tmpfs the host lacks)' },
  { key: 'PORTAGE_LOGDIR', reason: 'a path on the target; build logs are kept by the host agent' },
  { key: 'EMERGE_DEFAULT_OPTS', reason: 'target-side emerge options (--getbinpkg, --ask, --jobs) must not change host builds' },
  { key: 'MAKEOPTS', reason: 'the host does the building, so its own job count applies' },
  { key: 'ROOT', reason: 'the host sets ROOT to the target\'s root for every build' },
  { key: 'PORTAGE_CONFIGROOT', reason: 'the host sets PORTAGE_CONFIGROOT to the target\'s root for every build' },
  { key: 'SYSROOT', reason: 'would redirect the build\'s dependencies away from the root' },
  { key: 'BROOT', reason: 'would redirect build-time dependencies away from the host' },
  { key: 'EPREFIX', reason: 'a prefix of the target would relocate the build' },
  { key: 'BINPKG_FORMAT', reason: 'the host publishes signed gpkg packages, the format current targets verify' },
];

/** Config paths (relative to etc/portage) that are dropped entirely. */
export const DROPPED_PATHS: ReadonlyArray<{ path: string; reason: string }> = [
  { path: 'binrepos.conf', reason: 'the target\'s binhost (this host or another) must not feed the build' },
];

/** Variables whose `-march=native` / `-mtune=native` are rewritten, plus what they reference. */
export const FLAG_VARIABLES: readonly string[] = ['CFLAGS', 'CXXFLAGS', 'FCFLAGS', 'FFLAGS', 'COMMON_FLAGS', 'LDFLAGS'];
