import { ConfigError } from '../errors.js';
import type { ConfigReader } from './config-reader.js';

/**
 * The `host` and `server_name` keys of a client's config (the target agent's, the CLI's): where to
 * dial, and the DNS name the host's certificate must carry (by default the name in `host`).
 */
export function readDialAddress(r: ConfigReader): { host: string; serverName: string } {
  const host = r.requiredString('host');
  const name = addressName(host);
  if (name === undefined) throw new ConfigError(r.file, 'host', `expected "name:port" with a port from 1 to 65535, got "${host}"`);
  const serverName = r.string('server_name', name.replace(/^\[|\]$/g, ''));
  return { host, serverName };
}

/** The name part of `name:port` or `[v6]:port` (brackets kept); undefined unless the port is `minPort`–65535. */
export function addressName(address: string, minPort = 1): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  const port = Number(m?.[2]);
  return m && port >= minPort && port <= 65535 ? m[1] : undefined;
}
