import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, errnoCode, silentLogger, stateDigest, TargetState, type DigestRecord, assertValidName } from '@binhost/shared';
import { DamagedRecordError, DamagedRecords, parseJson, parseJsonObject, readRecord } from './damaged-records.js';

/** What the host remembers about a target besides its state. */
export interface TargetRecord {
  name: string;
  hostname: string;
  lastSeen: string | undefined;
  /** 'auto' | 'confirm' | 'off', or undefined to use the target's own config. */
  installPolicy: string | undefined;
  installedSnapshotId: number;
  lastError: string;
  /** Name of the root this target builds in (usually its own name). */
  root: string | undefined;
  /** The latest TriggerSync made while the target was not connected: sent when it next connects. */
  pendingSync?: QueuedSync | undefined;
  /**
   * The repository revisions the target reported last (RepoRevision in its JSON form): a tree
   * synced without a config change changes no stored state, and a restarted host must still know
   * them. Read back through the reported-facts grammar; anything else is read as none.
   */
  repoRevisions?: unknown[] | undefined;
  /** The target's last install report was awaiting_confirmation: the snapshot and how many packages its plan has. */
  awaitingConfirmation?: { snapshotId: number; packages: number } | undefined;
}

/** A sync request waiting for its target's next event stream (see serve/sync-queue.ts). */
export interface QueuedSync {
  requestId: string;
  args: string[];
  confirmed: boolean;
  reason: string;
  /** ISO time it was queued. */
  queuedAt: string;
}

/** How many digests of history (and their states, for diffs) are kept per target. */
export const HISTORY_LIMIT = 50;

/**
 * How many bytes of stored states (`states/<digest>.bin`) are kept per target: the oldest entries
 * of the history are dropped past it, the latest state always stays. Twice the largest report
 * (MAX_REPORT_BYTES, 32 MiB), so even then the previous state is there for `target diff`; a real
 * etc/portage of a few hundred KiB to a few MiB keeps all {@link HISTORY_LIMIT} entries or a dozen
 * at least. Without it, a target alternating between two large reports could make the host keep
 * 50 × 32 MiB of it.
 */
export const HISTORY_MAX_BYTES = 64 * 1024 * 1024;

/** Options for {@link TargetStore}. */
export interface TargetStoreOptions {
  /** @default HISTORY_MAX_BYTES */
  historyMaxBytes?: number;
  /** Where damaged files are marked (shared with the rest of the host). @default a silent one of its own */
  damage?: DamagedRecords;
}

/**
 * The durable part of the target registry: one directory per target under
 * `<state_dir>/targets/NAME/`, every file written atomically, so a host restart finds the latest
 * state and its history.
 *
 * - `record.json`  — {@link TargetRecord}
 * - `state.bin`    — the latest TargetState (protobuf)
 * - `history.json` — the digests reported, oldest first
 * - `states/<hex>.bin` — the state of each digest still in the history, for `target diff`
 */
export class TargetStore {
  private readonly historyMaxBytes: number;
  /** Where the damaged files found by the reads below are marked, for their target. */
  readonly damage: DamagedRecords;

  constructor(
    private readonly dir: string,
    options: TargetStoreOptions = {},
  ) {
    this.historyMaxBytes = options.historyMaxBytes ?? HISTORY_MAX_BYTES;
    this.damage = options.damage ?? new DamagedRecords(silentLogger());
  }

  private targetDir(name: string): string {
    assertValidName(name, 'target name');
    return join(this.dir, name);
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  /** Path of a target's `record.json`. */
  recordFile(name: string): string {
    return join(this.targetDir(name), 'record.json');
  }
  /** Path of a target's latest state (`state.bin`), or of the state of `digest` (`states/<hex>.bin`). */
  stateFile(name: string, digest?: string): string {
    return digest ? join(this.targetDir(name), 'states', `${hexOf(digest)}.bin`) : join(this.targetDir(name), 'state.bin');
  }
  /** Path of a target's `history.json`. */
  historyFile(name: string): string {
    return join(this.targetDir(name), 'history.json');
  }

  /** The target's record; undefined when it has none; {@link DamagedRecordError} when it is damaged. */
  async readRecord(name: string): Promise<TargetRecord | undefined> {
    const remedy = `delete it (or restore it from a backup): ${name} then registers afresh; set its install policy again if it had one`;
    return this.damage.guard({ target: name }, () => readRecord(this.recordFile(name), (bytes) => parseTargetRecord(name, parseJsonObject(bytes)), remedy));
  }

  async writeRecord(record: TargetRecord): Promise<void> {
    await atomicWrite(this.recordFile(record.name), JSON.stringify(record, null, 2) + '\n', { mkdirs: true });
  }

  /**
   * The target's latest state, or the state of `digest` from its history. The digest is recomputed,
   * so a damaged file never passes for a state: {@link DamagedRecordError}.
   */
  async readState(name: string, digest?: string): Promise<TargetState | undefined> {
    const remedy = digest
      ? `delete it: only \`binhostctl target diff\` with ${digest.slice(0, 19)} needs it`
      : `${name}'s next state report replaces it (it reports when it reconnects; or restart binhost-target on ${name})`;
    return this.damage.guard({ target: name }, () => readRecord(this.stateFile(name, digest), (bytes) => decodeState(bytes, digest), remedy));
  }

  /** The digests the target reported, oldest first; {@link DamagedRecordError} when the file is damaged. */
  async readHistory(name: string): Promise<DigestRecord[]> {
    const remedy = `${name}'s next state report starts it over (it reports when it reconnects; or restart binhost-target on ${name})`;
    return (await this.damage.guard({ target: name }, () => readRecord(this.historyFile(name), parseHistory, remedy))) ?? [];
  }

  /**
   * Stores a new latest state: first its copy by digest, then the history, then `state.bin`; a
   * crash in between leaves the previous latest state whole.
   */
  async writeState(name: string, state: TargetState, at: Date): Promise<void> {
    const dir = this.targetDir(name);
    const bytes = TargetState.encode(state).finish();
    await atomicWrite(join(dir, 'states', `${hexOf(state.digest)}.bin`), bytes, { mkdirs: true });
    // a damaged history starts over: it only serves `target diff`
    const previous = await this.readHistory(name).catch((err: unknown) => {
      if (err instanceof DamagedRecordError) return [];
      throw err;
    });
    const history = [...previous, { digest: state.digest, reportedAt: at }];
    const kept = await this.withinBytes(dir, history.slice(-HISTORY_LIMIT), bytes.length);
    await atomicWrite(join(dir, 'history.json'), JSON.stringify(kept, null, 2) + '\n');
    await atomicWrite(join(dir, 'state.bin'), bytes);
    const keep = new Set(kept.map((h) => `${hexOf(h.digest)}.bin`));
    for (const f of await readdir(join(dir, 'states'))) if (!keep.has(f)) await rm(join(dir, 'states', f), { force: true });
  }

  /**
   * The newest part of `history` whose stored states add up to at most the byte budget; the last
   * entry (the state being written, `latestBytes`) is always kept. Entries of the same digest
   * share one file.
   */
  private async withinBytes(dir: string, history: DigestRecord[], latestBytes: number): Promise<DigestRecord[]> {
    const counted = new Set([hexOf(history.at(-1)!.digest)]);
    let total = latestBytes;
    let first = history.length - 1;
    for (let i = history.length - 2; i >= 0; i--) {
      const hex = hexOf(history[i]!.digest);
      if (!counted.has(hex)) {
        const size = (await stat(join(dir, 'states', `${hex}.bin`)).catch(() => undefined))?.size ?? 0;
        if (total + size > this.historyMaxBytes) break;
        counted.add(hex);
        total += size;
      }
      first = i;
    }
    return history.slice(first);
  }

  async remove(name: string): Promise<void> {
    await rm(this.targetDir(name), { recursive: true, force: true });
  }

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o750 });
  }
}

export function emptyRecord(name: string): TargetRecord {
  return { name, hostname: '', lastSeen: undefined, installPolicy: undefined, installedSnapshotId: 0, lastError: '', root: undefined };
}

function hexOf(digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a digest: ${digest}`);
  return hex;
}

const POLICIES = new Set(['auto', 'confirm', 'off']);

/**
 * Checks a `record.json` as read from disk: every field the host relies on has its type (a root
 * that is not a valid name would fail every path built from it). `pendingSync` is checked where it
 * is used (serve/sync-queue.ts), which drops a malformed one.
 */
function parseTargetRecord(name: string, raw: Record<string, unknown>): TargetRecord {
  const record = { ...emptyRecord(name), ...(raw as Partial<TargetRecord>) };
  const optionalString = (v: unknown) => v === undefined || v === null || typeof v === 'string';
  const bad = (field: string) => new Error(`field "${field}" is not what the host wrote (${JSON.stringify(raw[field])?.slice(0, 60)})`);
  if (record.name !== name) throw bad('name');
  if (typeof record.hostname !== 'string') throw bad('hostname');
  if (typeof record.lastError !== 'string') throw bad('lastError');
  if (!optionalString(record.lastSeen) || (record.lastSeen && Number.isNaN(Date.parse(record.lastSeen)))) throw bad('lastSeen');
  if (!Number.isInteger(record.installedSnapshotId) || record.installedSnapshotId < 0) throw bad('installedSnapshotId');
  if (!optionalString(record.installPolicy) || (record.installPolicy && !POLICIES.has(record.installPolicy))) throw bad('installPolicy');
  if (!optionalString(record.root)) throw bad('root');
  if (record.root) assertValidName(record.root, 'root name');
  record.root ??= undefined;
  // only shown by status (the last install report has the plan): anything malformed is read as none
  const a = record.awaitingConfirmation as Record<string, unknown> | undefined | null;
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  record.awaitingConfirmation = a && typeof a === 'object' && count(a['snapshotId']) && count(a['packages']) ? record.awaitingConfirmation : undefined;
  record.lastSeen ??= undefined;
  record.installPolicy ??= undefined;
  return record;
}

function parseHistory(bytes: Buffer): DigestRecord[] {
  const raw = parseJson(bytes);
  if (!Array.isArray(raw)) throw new Error('does not hold a JSON array');
  return raw.map((h: unknown, i) => {
    const e = (typeof h === 'object' && h !== null ? h : {}) as Record<string, unknown>;
    const reportedAt = typeof e['reportedAt'] === 'string' ? new Date(e['reportedAt']) : undefined;
    if (typeof e['digest'] !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(e['digest']) || !reportedAt || Number.isNaN(reportedAt.getTime())) {
      throw new Error(`entry ${i} is not {"digest","reportedAt"}`);
    }
    return { digest: e['digest'], reportedAt };
  });
}

/** Decodes a stored state and checks it against its own digest (and the one it is filed under). */
function decodeState(bytes: Buffer, digest: string | undefined): TargetState {
  let state: TargetState;
  try {
    state = TargetState.decode(bytes);
  } catch (err) {
    throw new Error(`cannot be decoded (${(err as Error).message})`, { cause: err });
  }
  const actual = stateDigest(state.files);
  if (state.digest !== actual) throw new Error(`its files do not match its digest ${state.digest || '(none)'} (truncated or corrupt)`);
  if (digest !== undefined && digest !== actual) throw new Error(`holds the state ${actual}, not ${digest}`);
  return state;
}
