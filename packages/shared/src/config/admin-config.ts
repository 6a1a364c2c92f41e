import { resolve } from 'node:path';
import { loadToml } from './load-toml.js';
import type { TlsFiles } from '../grpc/tls-files.js';
import { readTls } from './host-config.js';
import { readDialAddress } from './dial-address.js';

/** `binhostctl`'s configuration (`/etc/binhost/admin.toml`). */
export interface AdminConfig {
  readonly configFile: string;
  /** `host:port` of the host agent. */
  readonly host: string;
  /** @default the host part of `host` */
  readonly serverName: string;
  readonly tls: TlsFiles;
}

/** Loads and validates the CLI's config file. */
export async function loadAdminConfig(file: string): Promise<AdminConfig> {
  const r = await loadToml(file);
  const abs = (p: string) => resolve(file, '..', p);
  const { host, serverName } = readDialAddress(r);
  const tls = readTls(r.section('tls'), abs);
  r.finish();
  return { configFile: r.file, host, serverName, tls };
}
