import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertValidName } from '@binhost/shared';

/**
 * Where the host keeps everything under its `state_dir`. The one place these paths are spelled
 * out; every module asks here.
 *
 * ```
 * <state_dir>/                           0711 (see prepare)
 * <state_dir>/targets/<target>/          registry record, states, history (TargetStore)
 * <state_dir>/targets/<target>/published.json   {"root","snapshotId"}: what this target is served
 * <state_dir>/roots/<root>/              a binhost root: ROOT = PORTAGE_CONFIGROOT = this dir
 * <state_dir>/roots/<root>/var/cache/binpkgs/   PKGDIR, rewritten by emerge: never served
 * <state_dir>/roots/<root>/../<root>.meta/      host-side data about the root (not inside it):
 *     applied.json            the AppliedConfig of the last successful apply
 *     builds/<id>.json        one Build each; builds/<id>.log its log
 *     snapshots/<n>/          an immutable publication: Packages, the files it names (hard links),
 *                             snapshot.json (Snapshot.toJSON)
 * <state_dir>/host.lock                  the pid of the host agent that owns this state dir (shared state/state-dir-lock.ts)
 * <state_dir>/keys/<root>/secret/        the root's OpenPGP signing keyring (GNUPGHOME, 0700): one
 *                                        key per root, so a build can sign only for its own targets
 * <state_dir>/keys/<root>/verify/        its public key, trusted: Portage's verify keyring for builds
 *                                        (0755/0644: Portage runs gpg --verify as nobody)
 * <state_dir>/layers/<root>/             what builds of the root wrote to the host's / (--root-deps),
 *                                        as overlay upper dirs: the host's own files never change
 * <state_dir>/build-tmp/<root>/          PORTAGE_TMPDIR of the root's builds
 * <state_dir>/distfiles/<root>/          DISTDIR of the root's builds
 * <state_dir>/.removing-<tag>/           what `target remove` is deleting: renamed here first, then removed
 * ```
 */
export class HostLayout {
  constructor(readonly stateDir: string) {}

  /**
   * Creates the state dir, and lets others pass through it (0711: search, no listing; what is
   * inside keeps its own modes, 0750 and 0700 for records and keys). Portage verifies each
   * package it has just signed as user nobody, with the keyring in keys/<root>/verify/, so nobody
   * must be able to reach it; a state dir made 0750 by an older release gets the search bit.
   */
  async prepare(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o711 });
    const { mode } = await stat(this.stateDir);
    if ((mode & 0o111) !== 0o111) await chmod(this.stateDir, (mode & 0o7777) | 0o111);
  }

  targetsDir(): string {
    return join(this.stateDir, 'targets');
  }
  targetDir(target: string): string {
    assertValidName(target, 'target name');
    return join(this.stateDir, 'targets', target);
  }
  publishedFile(target: string): string {
    return join(this.targetDir(target), 'published.json');
  }
  rootsDir(): string {
    return join(this.stateDir, 'roots');
  }
  rootDir(root: string): string {
    assertValidName(root, 'root name');
    return join(this.stateDir, 'roots', root);
  }
  pkgDir(root: string): string {
    return join(this.rootDir(root), 'var', 'cache', 'binpkgs');
  }
  metaDir(root: string): string {
    assertValidName(root, 'root name');
    return join(this.stateDir, 'roots', `${root}.meta`);
  }
  appliedFile(root: string): string {
    return join(this.metaDir(root), 'applied.json');
  }
  buildsDir(root: string): string {
    return join(this.metaDir(root), 'builds');
  }
  snapshotsDir(root: string): string {
    return join(this.metaDir(root), 'snapshots');
  }
  snapshotDir(root: string, id: number): string {
    if (!Number.isInteger(id) || id <= 0) throw new Error(`invalid snapshot id ${id}`);
    return join(this.snapshotsDir(root), String(id));
  }
  /** The signing keys of a root's builds (secret/ and verify/). */
  keysDir(root: string): string {
    assertValidName(root, 'root name');
    return join(this.stateDir, 'keys', root);
  }
  /** The signing keyring of a root's builds. */
  signingDir(root: string): string {
    return join(this.keysDir(root), 'secret');
  }
  /** The verify keyring of a root's builds (its signing key's public part, trusted). */
  verifyKeyringDir(root: string): string {
    return join(this.keysDir(root), 'verify');
  }
  /** Overlay upper and work dirs of a root's builds over the host paths `--root-deps` writes. */
  layersDir(root: string): string {
    assertValidName(root, 'root name');
    return join(this.stateDir, 'layers', root);
  }
  /** PORTAGE_TMPDIR of a root's builds (Portage makes `portage/` inside). */
  buildTmpDir(root: string): string {
    assertValidName(root, 'root name');
    return join(this.stateDir, 'build-tmp', root);
  }
  /** The /tmp of a root's build sandbox (emptied before each build). */
  sandboxTmpDir(root: string): string {
    return join(this.buildTmpDir(root), '.tmp');
  }
  /**
   * Where a root's build sandbox has Portage's /run/portage: the running emerge's observability
   * status file and socket (FEATURES=observability).
   */
  observabilityDir(root: string): string {
    return join(this.buildTmpDir(root), '.run-portage');
  }
  /** DISTDIR of a root's builds: one per root, so no build sees another root's sources. */
  distDir(root: string): string {
    assertValidName(root, 'root name');
    return join(this.stateDir, 'distfiles', root);
  }
  /** Prefix of {@link removingDir} names, for finding the leftovers of an interrupted removal. */
  static readonly REMOVING_PREFIX = '.removing-';
  /** Where a removal moves a target's record dir or a root before deleting it (same filesystem: rename is atomic). */
  removingDir(tag: string): string {
    assertValidName(tag, 'removal tag');
    return join(this.stateDir, `${HostLayout.REMOVING_PREFIX}${tag}`);
  }
}
