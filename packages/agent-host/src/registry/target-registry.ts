import { EventEmitter } from 'node:events';
import {
  assertReportedFacts,
  assertSafeRelativePath,
  assertValidName,
  isValidName,
  InvalidArgumentError,
  NotFoundError,
  reportKey,
  stateDigestAsync,
  type Logger,
  TargetState,
  RepoRevision,
} from '@binhost/shared';
import { type TargetStore, emptyRecord, type TargetRecord } from './target-store.js';
import { DamagedRecordError, type DamagedRecords } from './damaged-records.js';
import type { EventHub } from '../events/event-hub.js';

/** Emitted as 'state' when a target reports a state whose digest is new. */
export interface StateChange {
  target: string;
  state: TargetState;
  previousDigest: string | undefined;
}

/**
 * Every target the host knows: records and states kept durably by {@link TargetStore}, with the
 * live part (connected or not) read from the {@link EventHub}. Targets come into being when a
 * certificate of role "target" first registers, or by `binhostctl target add`.
 */
export class TargetRegistry extends EventEmitter<{ state: [StateChange]; revisions: [target: string] }> {
  private readonly records = new Map<string, TargetRecord>();
  private readonly digests = new Map<string, string>();
  /** {@link reportKey} of each target's stored state. */
  private readonly keys = new Map<string, string>();
  /** The repository revisions each target reported last (they are not part of its digest). */
  private readonly repoRevisions = new Map<string, RepoRevision[]>();
  /** The last pending record write of each target. */
  private readonly writes = new Map<string, Promise<unknown>>();

  constructor(
    readonly store: TargetStore,
    private readonly hub: EventHub,
    private readonly log: Logger,
  ) {
    super();
    this.damage = store.damage;
  }

  /** Files of the state dir found damaged (the store's); shared by everything that reads one. */
  readonly damage: DamagedRecords;

  /**
   * Loads every stored target. A damaged file fails only its target: it is marked (see
   * {@link DamagedRecords}) and the target is still listed. A damaged record leaves an empty one
   * in memory that is never written over the file ({@link update}); a damaged state or history
   * leaves no stored digest, so the target's next registration asks it to report again, which
   * writes both anew.
   */
  async load(): Promise<void> {
    await this.store.ensureDir();
    for (const name of await this.store.list()) {
      if (!isValidName(name)) {
        // not one of ours (lost+found, a copy made by hand): never a reason not to start
        this.log.warn({ dir: name }, 'ignored a directory of the targets dir that is not a target name');
        continue;
      }
      const record = await this.store.readRecord(name).catch(damagedOnly(() => emptyRecord(name)));
      if (!record) continue;
      this.records.set(name, record);
      const history = await this.store.readHistory(name).catch(damagedOnly(() => 'damaged' as const));
      const stored = await this.store.readState(name).catch(damagedOnly(() => 'damaged' as const));
      if (history === 'damaged' || stored === 'damaged') continue;
      const last = history.at(-1);
      if (last) this.digests.set(name, last.digest);
      if (stored) this.keys.set(name, reportKey(stored));
      this.repoRevisions.set(name, storedRevisions(record.repoRevisions));
    }
    this.log.info({ targets: this.records.size }, 'targets loaded');
  }

  names(): string[] {
    return [...this.records.keys()].sort();
  }

  has(name: string): boolean {
    return this.records.has(name);
  }

  get(name: string): TargetRecord {
    const record = this.records.get(name);
    if (!record) throw new NotFoundError(`no target named "${name}"`);
    return record;
  }

  isConnected(name: string): boolean {
    return this.hub.streams(name) > 0;
  }

  /** {@link reportKey} of the target's stored state: equal keys mean the same config on the same kind of machine. */
  currentKey(name: string): string | undefined {
    return this.keys.get(name);
  }

  currentDigest(name: string): string | undefined {
    return this.digests.get(name);
  }

  /**
   * Creates the record if needed and applies `change` to it, durably. Updates of one target are
   * serialized, each applied to the record the previous one wrote, so concurrent updates (a
   * registration and an event stream's touch) never overwrite each other's fields.
   */
  async update(name: string, change: (r: TargetRecord) => void): Promise<TargetRecord> {
    assertValidName(name, 'target name');
    const previous = this.writes.get(name) ?? Promise.resolve();
    const next = previous.then(async () => {
      await this.checkRecord(name);
      const record = { ...(this.records.get(name) ?? emptyRecord(name)) };
      change(record);
      await this.store.writeRecord(record);
      this.records.set(name, record);
      return record;
    });
    const settled = next.catch(() => undefined);
    this.writes.set(name, settled);
    void settled.then(() => {
      if (this.writes.get(name) === settled) this.writes.delete(name);
    });
    return next;
  }

  /**
   * A damaged record.json is never written over: updates fail with its {@link DamagedRecordError}
   * until the operator deletes or restores the file, which is read again here.
   */
  private async checkRecord(name: string): Promise<void> {
    const file = this.store.recordFile(name);
    if (!this.damage.has(file)) return;
    const record = await this.store.readRecord(name);
    this.damage.clear(file);
    this.records.set(name, record ?? emptyRecord(name));
  }

  /** Resolves when every record write started so far has finished (host shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.writes.values());
  }

  /** Marks the target as seen now. */
  async touch(name: string, hostname?: string): Promise<TargetRecord> {
    return this.update(name, (r) => {
      r.lastSeen = new Date().toISOString();
      if (hostname) r.hostname = hostname;
    });
  }

  /**
   * Validates and stores a reported state: its facts' grammar (also checked by the ReportState
   * handler; here for every other caller), its paths, and its digest, recomputed here — the host
   * never trusts the sender's — in slices that let other calls through. Nothing is written before
   * all of that passed. Returns whether it was new: new files, or the same files on a machine
   * whose facts changed ({@link reportKey}).
   */
  async acceptState(name: string, state: TargetState): Promise<{ digest: string; changed: boolean }> {
    assertReportedFacts(state);
    for (const f of state.files) assertSafeRelativePath(f.path, 'state path');
    const digest = await stateDigestAsync(state.files);
    if (state.digest !== digest) {
      throw new InvalidArgumentError(`state digest ${JSON.stringify(state.digest.slice(0, 80))} does not match its files (${digest})`);
    }
    await this.touch(name, state.hostname);
    const revisions = state.repoRevisions ?? [];
    const asJson = revisions.map((r) => RepoRevision.toJSON(r));
    const revisionsChanged = JSON.stringify(asJson) !== JSON.stringify((this.repoRevisions.get(name) ?? []).map((r) => RepoRevision.toJSON(r)));
    this.repoRevisions.set(name, revisions);
    if (revisionsChanged) {
      // kept in the record: a restarted host knows them without the target sending its state again
      await this.update(name, (r) => (r.repoRevisions = asJson));
      // a tree synced (the target re-reports then, with the same files): repos.skew_policy = "refuse" may publish now
      this.emit('revisions', name);
    }
    const previousDigest = this.digests.get(name);
    const key = reportKey(state);
    // same files and same machine facts: nothing new (a new CPU with the same files is new)
    if (this.keys.get(name) === key) return { digest, changed: false };
    await this.store.writeState(name, state, new Date());
    this.damage.clear(this.store.stateFile(name));
    this.damage.clear(this.store.historyFile(name));
    this.digests.set(name, digest);
    this.keys.set(name, key);
    this.log.info({ target: name, digest, previousDigest }, 'state stored');
    this.emit('state', { target: name, state, previousDigest });
    return { digest, changed: true };
  }

  /** The revisions of the ebuild repositories `name` reported last, [] before any report. */
  repoRevisionsOf(name: string): RepoRevision[] {
    return this.repoRevisions.get(name) ?? [];
  }

  async remove(name: string): Promise<void> {
    this.get(name);
    await this.store.remove(name);
    this.damage.forgetTarget(name);
    this.records.delete(name);
    this.digests.delete(name);
    this.keys.delete(name);
  }
}

/** A catch handler: a {@link DamagedRecordError} (already marked) becomes `fallback()`, anything else is rethrown. */
function damagedOnly<T>(fallback: () => T): (err: unknown) => T {
  return (err) => {
    if (err instanceof DamagedRecordError) return fallback();
    throw err;
  };
}

/** Revisions kept in a record, if they still pass the reported-facts grammar; [] otherwise (older records have none). */
function storedRevisions(raw: unknown[] | undefined): RepoRevision[] {
  if (!Array.isArray(raw)) return [];
  try {
    const repoRevisions = raw.map((r) => RepoRevision.fromJSON(r));
    assertReportedFacts(TargetState.fromPartial({ repoRevisions }));
    return repoRevisions;
  } catch {
    return []; // damaged: the target's next report brings them again
  }
}
