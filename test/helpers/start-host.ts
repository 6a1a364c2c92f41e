import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadHostConfig, silentLogger, type Logger } from '@binhost/shared';
import { HostDaemon, type HostDaemonOptions } from '@binhost/agent-host';
import type { TestPki } from './pki.js';

/** A running host agent on 127.0.0.1 and an ephemeral port. */
export interface StartedHost {
  daemon: HostDaemon;
  port: number;
  address: string;
  stateDir: string;
  configFile: string;
  stop(): Promise<void>;
}

/**
 * Writes a host.toml into `dir` (exercising the real config loader) and starts a host agent on
 * 127.0.0.1:0. `extra` is appended to the TOML file.
 */
export async function startHost(options: {
  dir: string;
  pki: TestPki;
  log?: Logger;
  extra?: string;
  name?: string;
  /** Bind this port instead of an ephemeral one (restart tests). */
  port?: number;
  /** The build step of Emerge (tests stand in for the build queue). */
  emergeBuilder?: HostDaemonOptions['emergeBuilder'];
  /** Closes connections that have not finished the TLS handshake by then. @default the host's 10 s */
  handshakeTimeoutMs?: number;
}): Promise<StartedHost> {
  const tls = await options.pki.files('host', options.name ?? 'host');
  const stateDir = join(options.dir, 'host-state');
  await mkdir(options.dir, { recursive: true });
  const configFile = join(options.dir, 'host.toml');
  await writeFile(
    configFile,
    `listen = "127.0.0.1:0"\nstate_dir = ${JSON.stringify(stateDir)}\n${options.extra ?? ''}\n[tls]\nca = ${JSON.stringify(tls.ca)}\ncert = ${JSON.stringify(tls.cert)}\nkey = ${JSON.stringify(tls.key)}\n`,
  );
  const config = await loadHostConfig(configFile);
  const daemon = new HostDaemon({
    config,
    log: options.log ?? silentLogger(),
    shutdownGraceMs: 1000,
    ...(options.port ? { listen: `127.0.0.1:${options.port}` } : {}),
    ...(options.emergeBuilder ? { emergeBuilder: options.emergeBuilder } : {}),
    ...(options.handshakeTimeoutMs ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
  });
  const port = await daemon.start();
  return { daemon, port, address: `127.0.0.1:${port}`, stateDir, configFile, stop: () => daemon.stop() };
}
