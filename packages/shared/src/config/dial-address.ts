import { ConfigError } from '../errors.js';
import type { ConfigReader } from './config-reader.js';

/**
 * The `host` and `server_name` keys of a client's config (the target agent's, the CLI's): where to
 * dial, and the DNS name the host's certificate must carry (by default the name in `host`).
 */
export function readDialAddress(r: ConfigReader): { host: string; serverName: string } {
  const host = r.requiredString('host');
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(host);
  if (!m) throw new ConfigError(r.file, 'host', `expected "name:port", got "${host}"`);
  const serverName = r.string('server_name', m[1]!.replace(/^\[|\]$/g, ''));
  return { host, serverName };
}
