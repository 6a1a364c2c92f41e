import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadToml } from './load-toml.js';
import type { ConfigReader } from './config-reader.js';
import { assertStateDirPath, DEFAULT_PATHS } from './paths.js';
import { ConfigError, errnoCode, errorMessage } from '../errors.js';
import type { TlsFiles } from '../grpc/tls-files.js';
import { readTls } from './host-config.js';
import { readDialAddress } from './dial-address.js';

export type InstallPolicyName = 'auto' | 'confirm' | 'off';

/** The target agent's configuration (`/etc/binhost/target.toml`), parsed and validated. */
export interface TargetConfig {
  readonly configFile: string;
  /** `host:port` of the host agent. Required. */
  readonly host: string;
  /** The DNS name in the host's certificate. @default the host part of `host` */
  readonly serverName: string;
  /** The system the agent reports and installs into. @default '/' */
  readonly root: string;
  /** The mirror and the agent's own state. @default '/var/lib/binhost-target' */
  readonly stateDir: string;
  /** @default 'info' */
  readonly logLevel: string;
  readonly tls: TlsFiles;
  readonly report: {
    /** Quiet time after the last change before a report is made. @default 300 */
    readonly debounceMs: number;
    /** Files larger than this are left out of the state, with a warning. @default 1048576 */
    readonly maxFileBytes: number;
  };
  readonly install: {
    /** @default 'auto' */
    readonly policy: InstallPolicyName;
    /** The emerge command. @default ['emerge'] */
    readonly emerge: readonly string[];
    /** Port of the loopback-only HTTP endpoint Portage reads the mirror from; 0 picks one. @default 0 */
    readonly mirrorPort: number;
  };
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** Loads and validates a target config file; relative paths are resolved against the file's directory. */
export async function loadTargetConfig(file: string): Promise<TargetConfig> {
  const r = await loadToml(file);
  const config = parseTargetConfig(r, resolve(file, '..'));
  await assertRootDir(config);
  return config;
}

/**
 * `root` must be a directory. (A root without etc/portage is accepted: the agent reports that and
 * watches for it to appear.)
 */
async function assertRootDir(config: TargetConfig): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(config.root)).isDirectory();
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory (a parent is a file)' : errorMessage(err);
    throw new ConfigError(config.configFile, 'root', `${config.root} ${why}`, { cause: err });
  }
  if (!isDir) throw new ConfigError(config.configFile, 'root', `${config.root} is not a directory`);
}

/** Validates an already parsed target config. */
function parseTargetConfig(r: ConfigReader, baseDir: string): TargetConfig {
  const abs = (p: string) => resolve(baseDir, p);
  const { host, serverName } = readDialAddress(r);
  const root = abs(r.string('root', '/'));
  const stateDir = assertStateDirPath(r.file, 'state_dir', abs(r.string('state_dir', DEFAULT_PATHS.targetStateDir)));
  const logLevel = r.choice('log_level', LOG_LEVELS, 'info');
  const tls = readTls(r.section('tls'), abs);
  const rep = r.section('report');
  const report = {
    debounceMs: rep.integer('debounce_ms', 300, 0, 60_000),
    maxFileBytes: rep.integer('max_file_bytes', 1024 * 1024, 1, 64 * 1024 * 1024),
  };
  rep.finish();
  const ins = r.section('install');
  const install = {
    policy: ins.choice<InstallPolicyName>('policy', ['auto', 'confirm', 'off'], 'auto'),
    emerge: ins.command('emerge', ['emerge']),
    mirrorPort: ins.integer('mirror_port', 0, 0, 65535),
  };
  ins.finish();
  r.finish();
  return { configFile: r.file, host, serverName, root, stateDir, logLevel, tls, report, install };
}
