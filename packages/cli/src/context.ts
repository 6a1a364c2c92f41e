import {
  AdminServiceClient,
  clientChannelOptions,
  clientCredentials,
  DEFAULT_PATHS,
  loadAdminConfig,
  readTlsFiles,
} from '@binhost/shared';

/** What every command gets: global flags, output streams, and a lazily made host client. */
export interface CommandContext {
  /** Print machine-readable JSON instead of text. */
  readonly json: boolean;
  readonly configFile: string;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Connects to the host with the admin certificate named in the config file. */
  admin(): Promise<AdminServiceClient>;
  /** Closes the client, if one was made. */
  close(): void;
}

/** Builds the context for one CLI invocation. */
export function createContext(options: {
  json: boolean;
  configFile?: string | undefined;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}): CommandContext {
  let client: AdminServiceClient | undefined;
  const configFile = options.configFile ?? process.env['BINHOST_ADMIN_CONFIG'] ?? DEFAULT_PATHS.adminConfig;
  return {
    json: options.json,
    configFile,
    stdout: options.stdout ?? process.stdout,
    stderr: options.stderr ?? process.stderr,
    async admin() {
      if (client) return client;
      const config = await loadAdminConfig(configFile);
      const tls = await readTlsFiles(config.tls, config.configFile);
      client = new AdminServiceClient(config.host, clientCredentials(tls), clientChannelOptions({ serverName: config.serverName }));
      return client;
    },
    close() {
      client?.close();
    },
  };
}
