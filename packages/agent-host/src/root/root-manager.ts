import { access, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  reportKey,
  AppliedConfig,
  errnoCode,
  isValidName,
  NotFoundError,
  SpawnCommandRunner,
  type CommandRunner,
  type Logger,
  type TargetState,
} from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import { applyState } from './apply-state.js';
import { disableStage3Binhosts } from './binhost-disable.js';
import { recoverInterruptedSwaps, type StepHook } from './config-swap.js';
import type { ResolvedNative } from '@binhost/shared';
import { hostNative } from './native-flags.js';
import { RootExistsError, UnsafeArchiveEntryError } from './root-errors.js';
import { assertInsideRoot, HOST_WRITTEN_PATHS } from './root-paths.js';
import { downloadStage3, verifySha256 } from './stage3-source.js';
import { extractStage3 } from './stage3-extract.js';
import { DamagedRecordError, DamagedRecords, parseJsonObject, readRecord } from '../registry/damaged-records.js';

/** Options for {@link RootManager}. */
export interface RootManagerOptions {
  layout: HostLayout;
  log: Logger;
  /** The host's C compiler, which validates the target's flags (config build.compiler). */
  compiler: string;
  /** The host's Portage repository, where target profiles are resolved (config build.repository). */
  repository: string;
  /** Runs gcc and setfattr. @default a SpawnCommandRunner */
  runner?: CommandRunner;
  /** Fetches stage3 URLs. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Tests only: called before each step of an apply's swap; throwing there injects a failure. */
  applyHook?: StepHook;
  /** Where a damaged applied.json is marked. @default a DamagedRecords of its own */
  damage?: DamagedRecords;
}

/** Where a stage3 comes from: a local file (an upload the host has spooled) or an https URL. */
export type Stage3Source = { file: string } | { url: string };

/** Options of {@link RootManager.create}. */
export interface CreateRootOptions {
  /** Hex SHA-256 the tarball must have; checked before anything is extracted. */
  sha256?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** What {@link RootManager.create} made. */
export interface CreatedRoot {
  rootPath: string;
  entriesExtracted: number;
  /** Stage3 binhost config files disabled inside the root (root-relative paths). */
  disabledBinhosts: string[];
  /** Entries not extracted (device nodes, FIFOs) and other notes. */
  warnings: string[];
}

/**
 * The host's binhost roots, one per target (or per shared fingerprint): creation from a stage3
 * and application of a target's reported state. Every change is atomic: a failure leaves the
 * previous root and config whole. Applies to one root run one at a time.
 */
export class RootManager {
  readonly runner: CommandRunner;
  private readonly log: Logger;
  private readonly creating = new Set<string>();
  private readonly applying = new Map<string, Promise<unknown>>();
  /** The reportKey (config digest and machine facts) last applied to each root by this host. */
  private readonly appliedKeys = new Map<string, string>();
  private hostNativeCache: Promise<ResolvedNative | undefined> | undefined;
  private readonly damage: DamagedRecords;

  constructor(readonly options: RootManagerOptions) {
    this.runner = options.runner ?? new SpawnCommandRunner();
    this.log = options.log.child({ component: 'roots' });
    this.damage = options.damage ?? new DamagedRecords(this.log);
  }

  /**
   * Creates `<state_dir>/roots/<name>` from a stage3 tarball: digest checked first, extracted
   * into a temp dir beside the root, the stage3's binhosts disabled, then renamed into place.
   * Nothing is left behind on failure.
   */
  async create(name: string, stage3: Stage3Source, opts: CreateRootOptions = {}): Promise<CreatedRoot> {
    const { layout } = this.options;
    const rootPath = layout.rootDir(name);
    if (this.creating.has(name) || (await this.exists(name))) throw new RootExistsError(name);
    this.creating.add(name);
    const tag = `${name}.${randomBytes(6).toString('hex')}`;
    const tmp = join(layout.rootsDir(), `.${tag}.tmp`);
    const download = 'url' in stage3 ? join(layout.rootsDir(), `.${tag}.stage3`) : undefined;
    try {
      await mkdir(layout.rootsDir(), { recursive: true, mode: 0o755 });
      if (download !== undefined && 'url' in stage3) await downloadStage3(stage3.url, download, opts.signal, this.options.fetch);
      const file = download ?? ('file' in stage3 ? stage3.file : '');
      if (opts.sha256) await verifySha256(file, opts.sha256);
      await mkdir(tmp, { mode: 0o755 });
      const extracted = await extractStage3(file, tmp, { runner: this.runner, signal: opts.signal });
      // `etc -> /etc` is a valid absolute link inside a root, but the host writes below these.
      for (const rel of HOST_WRITTEN_PATHS) {
        await assertInsideRoot(tmp, rel).catch((err: unknown) => {
          throw new UnsafeArchiveEntryError(rel, `a link on its path leads outside the root (${(err as Error).message.replace(`${tmp}/`, '')})`);
        });
      }
      const disabledBinhosts = await disableStage3Binhosts(tmp);
      await rename(tmp, rootPath);
      await mkdir(layout.metaDir(name), { recursive: true, mode: 0o755 });
      this.log.info({ root: name, entries: extracted.entries, disabledBinhosts }, 'root created');
      return { rootPath, entriesExtracted: extracted.entries, disabledBinhosts, warnings: extracted.skipped };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (errnoCode(err) === 'ENOTEMPTY' || errnoCode(err) === 'EEXIST') throw new RootExistsError(name);
      throw err;
    } finally {
      if (download !== undefined) await rm(download, { force: true });
      this.creating.delete(name);
    }
  }

  /** Whether the root exists (has been created and not removed). */
  async exists(root: string): Promise<boolean> {
    try {
      await access(this.options.layout.rootDir(root));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Replaces the root's Portage config with the target's, scrubbed and rewritten (see
   * apply-state.ts), and records applied.json. Refusals (FailedPreconditionError and
   * subclasses) leave the previous config and applied.json untouched.
   */
  async apply(root: string, state: TargetState): Promise<AppliedConfig> {
    const previous = this.applying.get(root) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.applyNow(root, state));
    this.applying.set(root, run);
    try {
      return await run;
    } finally {
      if (this.applying.get(root) === run) this.applying.delete(root);
    }
  }

  private async applyNow(root: string, state: TargetState): Promise<AppliedConfig> {
    const { layout } = this.options;
    if (!(await this.exists(root))) throw new NotFoundError(`no root named "${root}"`);
    const rootPath = layout.rootDir(root);
    const recovered = await recoverInterruptedSwaps(rootPath);
    if (recovered.length > 0) this.log.warn({ root, recovered }, 'restored config of an interrupted apply');
    // `target add` applies a reported state at once, and the build it starts applies the
    // latest state again: the same config on the same machine facts is applied once.
    const key = reportKey(state);
    const current = this.appliedKeys.get(root) === key && recovered.length === 0 ? await this.readApplied(root).catch(() => undefined) : undefined;
    if (current?.digest === state.digest) {
      this.log.debug({ root, digest: state.digest }, 'config already applied');
      return current;
    }
    this.appliedKeys.delete(root);
    const applied = await applyState(
      {
        rootPath,
        root,
        appliedFile: layout.appliedFile(root),
        compiler: this.options.compiler,
        repository: this.options.repository,
        runner: this.runner,
        hostNative: () => (this.hostNativeCache ??= hostNative(this.runner, this.options.compiler).catch(() => undefined)),
        hook: this.options.applyHook,
      },
      state,
    );
    this.damage.clear(layout.appliedFile(root));
    this.appliedKeys.set(root, key);
    this.log.info({ root, digest: applied.digest, rewrites: applied.rewrites.length, warnings: applied.warnings }, 'config applied');
    return applied;
  }

  /**
   * The last successfully applied config, or undefined when none was applied. A damaged
   * applied.json is a (marked) DamagedRecordError; the next apply writes it anew.
   */
  async readApplied(root: string): Promise<AppliedConfig | undefined> {
    const file = this.options.layout.appliedFile(root);
    const remedy = 'the next apply writes it anew (the next config change a target of this root reports); or delete it';
    const parse = (bytes: Buffer) => {
      const applied = AppliedConfig.fromJSON(parseJsonObject(bytes));
      if (!/^sha256:[0-9a-f]+$/.test(applied.digest)) throw new Error('has no valid digest');
      return applied;
    };
    return this.damage.guard({ root }, () => readRecord(file, parse, remedy));
  }

  /** Reads the applied.json of every root at startup, so a damaged one shows in `status` at once. */
  async checkApplied(): Promise<void> {
    const { layout } = this.options;
    const metas = await readdir(layout.rootsDir()).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return [] as string[];
      throw err;
    });
    const roots = metas.filter((m) => m.endsWith('.meta')).map((m) => m.slice(0, -'.meta'.length));
    for (const root of roots.filter(isValidName)) {
      await this.readApplied(root).catch((err: unknown) => {
        if (!(err instanceof DamagedRecordError)) throw err;
      });
    }
  }
}
