#!/usr/bin/env node
/**
 * binhost-host: the host agent. The only place that reads argv, handles signals and exits.
 *
 *   binhost-host [--config /etc/binhost/host.toml] [--check-config] [--version]
 *
 * SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the config file (see reload.ts for what applies live).
 *
 * Exit codes: 0 stopped cleanly, 2 bad usage, 78 (EX_CONFIG) misconfigured, 1 anything else.
 */
import { DEFAULT_PATHS, packageVersion, loadHostConfig, runDaemonMain } from '@binhost/shared';
import { HostDaemon } from './daemon.js';
import { applyHostConfig, HOST_LIVE_KEYS } from './reload.js';

runDaemonMain({
  program: 'binhost-host',
  agent: 'host',
  version: packageVersion(import.meta.url),
  defaultConfig: DEFAULT_PATHS.hostConfig,
  load: loadHostConfig,
  liveKeys: HOST_LIVE_KEYS,
  apply: applyHostConfig,
  create: (config, log) => new HostDaemon({ config, log }),
});
