import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, errnoCode, TargetState, type DigestRecord, assertValidName } from '@binhost/shared';

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

  constructor(
    private readonly dir: string,
    options: TargetStoreOptions = {},
  ) {
    this.historyMaxBytes = options.historyMaxBytes ?? HISTORY_MAX_BYTES;
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

  async readRecord(name: string): Promise<TargetRecord | undefined> {
    const text = await readOptional(join(this.targetDir(name), 'record.json'));
    if (!text) return undefined;
    return { ...emptyRecord(name), ...(JSON.parse(text.toString('utf8')) as Partial<TargetRecord>) };
  }

  async writeRecord(record: TargetRecord): Promise<void> {
    await atomicWrite(join(this.targetDir(record.name), 'record.json'), JSON.stringify(record, null, 2) + '\n', { mkdirs: true });
  }

  async readState(name: string, digest?: string): Promise<TargetState | undefined> {
    const file = digest ? join(this.targetDir(name), 'states', `${hexOf(digest)}.bin`) : join(this.targetDir(name), 'state.bin');
    const bytes = await readOptional(file);
    return bytes ? TargetState.decode(bytes) : undefined;
  }

  async readHistory(name: string): Promise<DigestRecord[]> {
    const text = await readOptional(join(this.targetDir(name), 'history.json'));
    if (!text) return [];
    return (JSON.parse(text.toString('utf8')) as { digest: string; reportedAt: string }[]).map((h) => ({
      digest: h.digest,
      reportedAt: new Date(h.reportedAt),
    }));
  }

  /**
   * Stores a new latest state: first its copy by digest, then the history, then `state.bin`; a
   * crash in between leaves the previous latest state whole.
   */
  async writeState(name: string, state: TargetState, at: Date): Promise<void> {
    const dir = this.targetDir(name);
    const bytes = TargetState.encode(state).finish();
    await atomicWrite(join(dir, 'states', `${hexOf(state.digest)}.bin`), bytes, { mkdirs: true });
    const history = [...(await this.readHistory(name)), { digest: state.digest, reportedAt: at }];
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

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}
