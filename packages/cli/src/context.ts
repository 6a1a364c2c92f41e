import {
  AdminServiceClient,
  clientChannelOptions,
  clientCredentials,
  DEFAULT_PATHS,
  loadAdminConfig,
  readTlsFiles,
  type TlsMaterial,
} from '@binhost/shared';
import { probeTls } from './tls-probe.js';
import { terminalSafe } from './terminal-safe.js';

/** Where the host is, as the config file says: for error messages that name it. */
export interface HostAddress {
  readonly configFile: string;
  /** `name:port` as dialled. */
  readonly host: string;
  /** The DNS name the host's certificate must carry. */
  readonly serverName: string;
  /** `tls.ca` of the config file, the CA the host's certificate must be signed by. */
  readonly caFile: string;
  /** `tls.cert` of the config file, the admin certificate. */
  readonly certFile: string;
}

/** What every command gets: global flags, output streams, and a lazily made host client. */
export interface CommandContext {
  /** `--json`: print the versioned JSON view instead of text (see view.ts). */
  readonly json: boolean;
  /** `--verbose`: full texts instead of shortened ones. */
  readonly verbose: boolean;
  readonly configFile: string;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Connects to the host with the admin certificate named in the config file. */
  admin(): Promise<AdminServiceClient>;
  /** The host the client dials, once `admin()` has read the config; for error messages. */
  hostAddress(): HostAddress | undefined;
  /**
   * After a call failed UNAVAILABLE: the TLS error of one plain TLS connection to the host with the
   * same files (see tls-probe.ts), which grpc-js does not tell; undefined when there is none.
   */
  probeTls(): Promise<string | undefined>;
  /** Closes the client, if one was made. */
  close(): void;
}

/** Options of {@link createContext}; tests replace the streams and the client. */
export interface ContextOptions {
  json?: boolean;
  verbose?: boolean;
  configFile?: string | undefined;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Makes the client instead of reading the config file (tests with a stand-in host). */
  admin?: () => Promise<AdminServiceClient>;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Builds the context for one CLI invocation. */
export function createContext(options: ContextOptions): CommandContext {
  let client: AdminServiceClient | undefined;
  let address: HostAddress | undefined;
  let material: TlsMaterial | undefined;
  const env = options.env ?? process.env;
  const configFile = options.configFile ?? env['BINHOST_ADMIN_CONFIG'] ?? DEFAULT_PATHS.adminConfig;
  return {
    json: options.json ?? false,
    verbose: options.verbose ?? false,
    configFile,
    // what commands print holds text from targets: never raw control characters (terminal-safe.ts)
    stdout: terminalSafe(options.stdout ?? process.stdout),
    stderr: options.stderr ?? process.stderr,
    async admin() {
      if (client) return client;
      if (options.admin) return (client = await options.admin());
      const config = await loadAdminConfig(configFile);
      const tls = await readTlsFiles(config.tls, config.configFile, 'admin');
      material = tls;
      address = { configFile: config.configFile, host: config.host, serverName: config.serverName, caFile: config.tls.ca, certFile: config.tls.cert };
      client = new AdminServiceClient(config.host, clientCredentials(tls), clientChannelOptions({ serverName: config.serverName }));
      return client;
    },
    hostAddress: () => address,
    probeTls: async () => (address && material ? probeTls(address.host, address.serverName, material) : undefined),
    close() {
      client?.close();
    },
  };
}
