#!/usr/bin/env node
/**
 * binhost-target: the target agent. The only place that reads argv, handles signals and exits.
 *
 *   binhost-target [--config /etc/binhost/target.toml] [--check-config] [--version]
 *
 * SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the config file (see reload.ts for what applies live).
 *
 * Exit codes: 0 stopped cleanly, 2 bad usage, 78 (EX_CONFIG) misconfigured, 1 anything else.
 */
import { DEFAULT_PATHS, packageVersion, loadTargetConfig, runDaemonMain } from '@binhost/shared';
import { TargetDaemon } from './daemon.js';
import { TARGET_LIVE_KEYS } from './reload.js';

runDaemonMain({
  program: 'binhost-target',
  agent: 'target',
  version: packageVersion(import.meta.url),
  defaultConfig: DEFAULT_PATHS.targetConfig,
  load: loadTargetConfig,
  liveKeys: TARGET_LIVE_KEYS,
  create: (config, log) => new TargetDaemon({ config, log }),
  apply: (daemon, next) => (daemon.config = next),
});
