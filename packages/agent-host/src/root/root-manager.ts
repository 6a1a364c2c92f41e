import { access } from 'node:fs/promises';
import { SpawnCommandRunner, type AppliedConfig, type CommandRunner, type Logger, type TargetState } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import { NotFoundError } from '@binhost/shared';

/** Options for {@link RootManager}. */
export interface RootManagerOptions {
  layout: HostLayout;
  log: Logger;
  /** The host's C compiler, which validates the target's flags (config build.compiler). */
  compiler: string;
  /** The host's Portage repository, where target profiles are resolved (config build.repository). */
  repository: string;
  /** Runs gcc, xz, bzip2, zstd, setfattr. @default a SpawnCommandRunner */
  runner?: CommandRunner;
}

/** Where a stage3 comes from: a local file (an upload the host has spooled) or an https URL. */
export type Stage3Source = { file: string } | { url: string };

/** Options of {@link RootManager.create}. */
export interface CreateRootOptions {
  /** Hex SHA-256 the tarball must have; checked before anything is extracted. */
  sha256?: string;
}

/** What {@link RootManager.create} made. */
export interface CreatedRoot {
  rootPath: string;
  entriesExtracted: number;
  /** Stage3 binhost config files disabled inside the root (root-relative paths). */
  disabledBinhosts: string[];
}

/**
 * The host's binhost roots, one per target (or per shared fingerprint): creation from a stage3
 * and application of a target's reported state. Every change is atomic: a failure leaves the
 * previous root and config whole.
 */
export class RootManager {
  readonly runner: CommandRunner;

  constructor(readonly options: RootManagerOptions) {
    this.runner = options.runner ?? new SpawnCommandRunner();
  }

  /** Creates `<state_dir>/roots/<name>` from a stage3 tarball. */
  async create(name: string, stage3: Stage3Source, opts: CreateRootOptions = {}): Promise<CreatedRoot> {
    void name;
    void stage3;
    void opts;
    throw new NotFoundError('RootManager.create: not implemented yet');
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

  /** Replaces the root's Portage config with the target's, scrubbed and rewritten; records applied.json. */
  async apply(root: string, state: TargetState): Promise<AppliedConfig> {
    void root;
    void state;
    throw new NotFoundError('RootManager.apply: not implemented yet');
  }

  /** The last successfully applied config, or undefined when none was applied. */
  async readApplied(root: string): Promise<AppliedConfig | undefined> {
    void root;
    return undefined;
  }
}
