import { join } from 'node:path';
import {
  atomicWrite,
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
import { DamagedRecordError, parseJsonObject, readRecord } from '../registry/damaged-records.js';

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
      // not a failure, but what status must say until the target's tree catches up: "install of snapshot 3 held: host tree is …"
      InstallOutcome.INSTALL_OUTCOME_HELD,
    ].includes(stored.outcome);
    await this.deps.registry.update(target, (r) => {
      // status shows a plan waiting for `sync --yes` until the next report replaces it
      r.awaitingConfirmation =
        stored.outcome === InstallOutcome.INSTALL_OUTCOME_AWAITING_CONFIRMATION ? { snapshotId: stored.snapshotId, packages: stored.plan?.packages.length ?? 0 } : undefined;
      if (stored.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED || stored.outcome === InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE) {
        r.installedSnapshotId = stored.snapshotId;
        r.lastError = '';
      } else if (failed) {
        // in the words binhostctl shows outcomes in: "install of snapshot 3 failed: …", "… refused_drift: …"
        const word = installOutcomeToJSON(stored.outcome).replace(/^INSTALL_OUTCOME_/, '').toLowerCase();
        r.lastError = `install of snapshot ${stored.snapshotId} ${word}${stored.error ? `: ${stored.error}` : ''}`;
      }
    });
    // after the record, so whoever sees the result file also sees the record it moved
    await atomicWrite(this.file(target), JSON.stringify(InstallResult.toJSON(stored), null, 2) + '\n', { mkdirs: true });
    this.deps.registry.damage.clear(this.file(target));
    this.deps.activity.publish(target, { kind: 'install', result: stored });
    return stored;
  }

  /** The last stored result of `target`, if any; a (marked) DamagedRecordError when its file is damaged. */
  async last(target: string): Promise<InstallResult | undefined> {
    const remedy = `${target}'s next install report replaces it (binhostctl sync ${target}); or delete it`;
    const parse = (bytes: Buffer) => {
      const result = InstallResult.fromJSON(parseJsonObject(bytes));
      if (result.outcome < 0) throw new Error('has no valid outcome');
      return result;
    };
    return this.deps.registry.damage.guard({ target }, () => readRecord(this.file(target), parse, remedy));
  }

  /** Reads every target's last result at startup, so a damaged file shows in `status` at once. */
  async check(targets: readonly string[]): Promise<void> {
    for (const t of targets) {
      await this.last(t).catch((err: unknown) => {
        if (!(err instanceof DamagedRecordError)) throw err;
      });
    }
  }

  private async driftFiles(target: string, snapshotId: number): Promise<string[]> {
    const publication = await this.deps.publications.read(target, snapshotId);
    const built = publication?.snapshot.builtDigest;
    if (!built) return [];
    const store = this.deps.registry.store;
    // a damaged state (marked by the store) only leaves the list empty
    const [before, now] = await Promise.all([store.readState(target, built).catch(() => undefined), store.readState(target).catch(damagedAsUndefined)]);
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

function damagedAsUndefined(err: unknown): undefined {
  if (err instanceof DamagedRecordError) return undefined;
  throw err;
}
