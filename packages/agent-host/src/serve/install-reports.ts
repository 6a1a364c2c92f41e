import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  atomicWrite,
  errnoCode,
  FileKind,
  InstallOutcome,
  InstallResult,
  installOutcomeToJSON,
  InvalidArgumentError,
  type TargetState,
} from '@binhost/shared';
import type { TargetRegistry } from '../registry/target-registry.js';
import type { HostLayout } from '../layout.js';
import type { ActivityHub } from './activity-hub.js';
import type { PublicationSource } from './publication-source.js';

/** What storing install reports needs. */
export interface InstallReportsDeps {
  registry: TargetRegistry;
  layout: HostLayout;
  activity: ActivityHub;
  publications: PublicationSource;
}

/**
 * Keeps the last install result of each target (`targets/<t>/last-install.json`), moves
 * `installedSnapshotId` and `lastError` in its record, and relays the result to watchers. For a
 * drift refusal the host names the differing files itself: it holds both the state the snapshot
 * was built from and the target's latest state, which the target does not.
 */
export class InstallReports {
  constructor(private readonly deps: InstallReportsDeps) {}

  private file(target: string): string {
    return join(this.deps.layout.targetDir(target), 'last-install.json');
  }

  /** TargetService.ReportInstall. */
  async report(target: string, result: InstallResult | undefined): Promise<InstallResult> {
    if (!result) throw new InvalidArgumentError('ReportInstall needs a result');
    const stored: InstallResult = { ...result, finishedAt: result.finishedAt ?? new Date() };
    if (stored.outcome === InstallOutcome.INSTALL_OUTCOME_REFUSED_DRIFT && stored.differingFiles.length === 0) {
      stored.differingFiles = await this.driftFiles(target, stored.snapshotId);
    }
    const failed = [
      InstallOutcome.INSTALL_OUTCOME_FAILED,
      InstallOutcome.INSTALL_OUTCOME_REFUSED_DRIFT,
      InstallOutcome.INSTALL_OUTCOME_MIRROR_FAILED,
    ].includes(stored.outcome);
    await this.deps.registry.update(target, (r) => {
      if (stored.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED || stored.outcome === InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE) {
        r.installedSnapshotId = stored.snapshotId;
        r.lastError = '';
      } else if (failed) {
        r.lastError = `install of snapshot ${stored.snapshotId}: ${installOutcomeToJSON(stored.outcome)}${stored.error ? `: ${stored.error}` : ''}`;
      }
    });
    // after the record, so whoever sees the result file also sees the record it moved
    await atomicWrite(this.file(target), JSON.stringify(InstallResult.toJSON(stored), null, 2) + '\n', { mkdirs: true });
    this.deps.activity.publish(target, { kind: 'install', result: stored });
    return stored;
  }

  /** The last stored result of `target`, if any. */
  async last(target: string): Promise<InstallResult | undefined> {
    try {
      return InstallResult.fromJSON(JSON.parse(await readFile(this.file(target), 'utf8')));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async driftFiles(target: string, snapshotId: number): Promise<string[]> {
    const publication = await this.deps.publications.read(target, snapshotId);
    const built = publication?.snapshot.builtDigest;
    if (!built) return [];
    const store = this.deps.registry.store;
    const [before, now] = await Promise.all([store.readState(target, built).catch(() => undefined), store.readState(target)]);
    return before && now ? differingPaths(before, now) : [];
  }
}

/** Paths whose kind or content differs between two states (added and removed included), sorted. */
export function differingPaths(a: TargetState, b: TargetState): string[] {
  const key = (s: TargetState) =>
    new Map(
      s.files
        .filter((f) => f.kind !== FileKind.FILE_KIND_DIRECTORY)
        .map((f) => [f.path, `${f.kind}:${f.kind === FileKind.FILE_KIND_SYMLINK ? f.linkTarget : Buffer.from(f.content).toString('base64')}`]),
    );
  const ma = key(a);
  const mb = key(b);
  const out = new Set<string>();
  for (const [p, v] of ma) if (mb.get(p) !== v) out.add(p);
  for (const p of mb.keys()) if (!ma.has(p)) out.add(p);
  return [...out].sort();
}
