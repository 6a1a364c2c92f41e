import { AgentError } from '@binhost/shared';

/**
 * What one build of a root may see and touch. Building with a target's config *is* running its
 * config (bashrc, CC, repos.conf, `*_COMMAND`, …), so every build runs in a sandbox where only
 * that root can be hurt:
 *
 * - the host's `/` read-only; the paths a `--root-deps` build writes on the host (`hostLayers`)
 *   are overlays whose changes land in the root's own layer, never in the host's real files;
 * - the root, its build temp dir, its DISTDIR and its signing key writable;
 * - the agent's state dir (other roots, their keys, the registry, snapshots) and config dir
 *   (the host's TLS key) replaced by empty directories;
 * - its own mount, PID and IPC namespaces, with a private /run (and TMPDIR in its build temp
 *   dir): nothing of the build outlives bwrap, which dies with the host agent.
 */
export interface SandboxSpec {
  rootDir: string;
  tmpDir: string;
  distDir: string;
  /** Host paths `--root-deps` writes (config `build.host_writable`), each overlaid on `layers[i]`. */
  hostLayers: ReadonlyArray<{ path: string; upper: string; work: string }>;
  /** Hidden from the build (the state dir, the config and TLS key dirs). */
  hidden: readonly string[];
  /** Bound back in, read-only (the root's verify keyring). */
  readOnly: readonly string[];
  /** Bound back in, writable (the root's signing home: gpg-agent puts its sockets there). */
  writable: readonly string[];
  /** `build.sandbox`: the bwrap program. */
  bwrap: string;
  /** Bound to /run/portage (Portage's observability status and socket), so the host can follow the build. */
  runPortage?: string;
  /**
   * The build's own writable /tmp: `dir` (emptied by the caller before each build) bound there,
   * and in it, read-only, what the host's /tmp held when the build started (`hostEntries`: the
   * emerge program may live there). Without it /tmp is the host's, read-only, and programs that
   * put temp files in /tmp whatever TMPDIR says fail: GNU make ≤ 4.3 with Portage's
   * `GNUMAKEFLAGS=--output-sync=line` dies of a segmentation fault in every parallel emake.
   */
  tmp?: { dir: string; hostEntries: readonly TmpEntry[] };
}

/** An entry of the host's /tmp: shown read-only in the build's /tmp, a symlink as the same link. */
export interface TmpEntry {
  name: string;
  /** The link's target, for a symlink. */
  link?: string;
}

/** A path the sandbox cannot take (it would break the overlay options or the mount list). */
export class SandboxPathError extends AgentError {
  override name = 'SandboxPathError';
}

// overlayfs options are a comma-separated list with colon-separated lowerdirs: paths holding
// those (or a backslash) cannot be spelled there.
const OVERLAY_UNSAFE = /[,:\\\n]/;

/**
 * Runs outside bubblewrap, in the new mount namespace `unshare` made: mounts the overlays given
 * as triples (lower upper work), then starts bwrap (the rest of its arguments) in a session of its
 * own and waits for it. The host signals this script's process group to cancel a build; bwrap
 * would die of SIGTERM and take the build down with SIGKILL, so the signal is passed on to the
 * sandbox's own process group instead (its pid from bwrap's --info-fd), and emerge gets its
 * grace period. If this script is killed, bwrap (--die-with-parent) ends the sandbox. Paths
 * arrive as arguments, never in the script text.
 */
const LAUNCHER = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  '  mkdir -p "$2" "$3" || exit 125',
  '  mount -t overlay binhost-layer -o "lowerdir=$1,upperdir=$2,workdir=$3" "$1" || exit 125',
  '  shift 3; n=$((n - 1))',
  'done',
  'info=$(mktemp) || exit 125',
  'forward() {',
  '  c=$(sed -n \'s/.*"child-pid": *\\([0-9]*\\).*/\\1/p\' "$info")',
  '  [ -n "$c" ] && kill -s "$1" -- "-$c" 2>/dev/null',
  '}',
  "trap 'forward TERM' TERM",
  "trap 'forward INT' INT",
  "trap 'forward HUP' HUP",
  'setsid "$@" 3>"$info" &',
  'b=$!',
  'while :; do',
  '  wait "$b"; rc=$?',
  '  kill -0 "$b" 2>/dev/null || break',
  'done',
  'rm -f "$info"',
  'exit "$rc"',
].join('\n');

/**
 * The directories between a tmpfs of the sandbox (`bases`) and the mount points below it, parents
 * first. bwrap makes the directories leading to a mount point 0700; Portage verifies as nobody,
 * who must pass through to the verify keyring, so they are made 0711 first.
 */
function parentsUnder(bases: readonly string[], paths: readonly string[]): string[] {
  const parents = new Set<string>();
  for (const p of paths) {
    const base = bases.filter((b) => p.startsWith(`${b}/`)).sort((a, b) => b.length - a.length)[0];
    if (!base) continue;
    const parts = p.slice(base.length + 1).split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) parents.add(`${base}/${parts.slice(0, i).join('/')}`);
  }
  return [...parents].sort((a, b) => a.split('/').length - b.split('/').length);
}

/**
 * Empty in every sandbox: the host's runtime state is none of a build's business. (/tmp is the
 * build's own: {@link SandboxSpec.tmp}; builds also get TMPDIR in their own build temp dir.)
 */
const PRIVATE_DIRS = ['/run'];

/**
 * bwrap arguments for the build's own /tmp with the host's entries in it, read-only. `-try`: an
 * entry removed since it was listed (another program's temp dir) is left out, not a failed build.
 */
function privateTmp(dir: string, entries: readonly TmpEntry[]): string[] {
  const shown = entries.flatMap((e) => (e.link !== undefined ? ['--symlink', e.link, `/tmp/${e.name}`] : ['--ro-bind-try', `/tmp/${e.name}`, `/tmp/${e.name}`]));
  return ['--bind', dir, '/tmp', ...shown];
}

const dirs = (paths: readonly string[]) => paths.flatMap((p) => ['--perms', '0711', '--dir', p]);

/**
 * The argv that runs `argv` (the emerge command) in the sandbox: util-linux `unshare` for a mount
 * namespace with the root's overlays, then bubblewrap for the rest. The result has the shape
 * `unshare … sh -c LAUNCHER binhost-sandbox N L U W … bwrap … -- argv`, so the emerge arguments stay
 * visible in /proc/PID/cmdline (the orphan check reads them).
 */
export function sandboxArgv(spec: SandboxSpec, argv: readonly string[]): string[] {
  for (const layer of spec.hostLayers) {
    for (const p of [layer.path, layer.upper, layer.work]) {
      if (OVERLAY_UNSAFE.test(p)) throw new SandboxPathError(`cannot overlay "${p}" for a build: the path holds a comma, colon, backslash or newline`);
    }
  }
  const layers = spec.hostLayers.flatMap((l) => [l.path, l.upper, l.work]);
  const bound = [spec.rootDir, spec.tmpDir, spec.distDir, ...spec.writable, ...spec.readOnly];
  const bwrap = [
    spec.bwrap,
    '--die-with-parent',
    '--new-session',
    '--info-fd', '3',
    '--unshare-pid',
    '--unshare-ipc',
    '--ro-bind', '/', '/',
    ...(spec.tmp ? privateTmp(spec.tmp.dir, spec.tmp.hostEntries) : []),
    '--dev', '/dev',
    '--proc', '/proc',
    ...PRIVATE_DIRS.flatMap((p) => ['--tmpfs', p]),
    // Portage's signing lock is /run/lock/portage-binpkg-gpg.lock
    '--dir', '/run/lock',
    ...dirs(parentsUnder(PRIVATE_DIRS, [...spec.hostLayers.map((l) => l.path), ...spec.hidden, ...bound])),
    ...spec.hostLayers.flatMap((l) => ['--bind', l.path, l.path]),
    ...spec.hidden.flatMap((p) => ['--tmpfs', p]),
    ...dirs(parentsUnder(spec.hidden, bound)),
    ...[spec.rootDir, spec.tmpDir, spec.distDir].flatMap((p) => ['--bind', p, p]),
    ...spec.writable.flatMap((p) => ['--bind', p, p]),
    ...spec.readOnly.flatMap((p) => ['--ro-bind', p, p]),
    ...(spec.runPortage ? ['--bind', spec.runPortage, '/run/portage'] : []),
    '--chdir', spec.rootDir,
    '--',
    ...argv,
  ];
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', LAUNCHER, 'binhost-sandbox', String(spec.hostLayers.length), ...layers, ...bwrap];
}
