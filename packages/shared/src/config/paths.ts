import { ConfigError } from '../errors.js';

/**
 * Where things live on a Gentoo machine (FHS). Every path is overridable in the config files and
 * on the command line, so tests run in temp dirs.
 */
export const DEFAULT_PATHS = {
  /** @default '/etc/binhost/host.toml' */
  hostConfig: '/etc/binhost/host.toml',
  /** @default '/etc/binhost/target.toml' */
  targetConfig: '/etc/binhost/target.toml',
  /** @default '/etc/binhost/admin.toml' */
  adminConfig: '/etc/binhost/admin.toml',
  /** @default '/etc/binhost/pki' */
  pkiDir: '/etc/binhost/pki',
  /** @default '/var/lib/binhost' */
  hostStateDir: '/var/lib/binhost',
  /** @default '/var/lib/binhost-target' */
  targetStateDir: '/var/lib/binhost-target',
} as const;

/** The port the host listens on unless told otherwise. @default 7453 */
export const DEFAULT_PORT = 7453;

/**
 * Refuses a state dir in a kernel filesystem (/proc, /sys, /dev): nothing can be kept there, and
 * Node's recursive mkdir never returns under /proc. A {@link ConfigError} naming `key`.
 */
export function assertStateDirPath(file: string, key: string, dir: string): string {
  const fs = ['/proc', '/sys', '/dev'].find((top) => dir === top || dir.startsWith(`${top}/`));
  if (fs) throw new ConfigError(file, key, `${dir} is under ${fs}, a kernel filesystem; choose a directory on disk (like ${DEFAULT_PATHS.hostStateDir})`);
  return dir;
}
