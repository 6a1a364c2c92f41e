#!/usr/bin/env node
/**
 * binhost-target: the target agent. The only place that reads argv, handles signals and exits.
 *
 *   binhost-target [--config /etc/binhost/target.toml] [--check-config]
 *
 * SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the config file (see reload.ts for what applies live).
 *
 * Exit codes: 0 stopped cleanly, 2 bad usage, 78 (EX_CONFIG) misconfigured, 1 anything else.
 */
import { parseArgs } from 'node:util';
import { createConfigReloader, createLogger, onReloadSignal, readTlsFiles, DEFAULT_PATHS, EXIT, loadTargetConfig, runMain, UsageError, waitForStopSignal, errorMessage } from '@binhost/shared';
import { TargetDaemon } from './daemon.js';
import { TARGET_LIVE_KEYS } from './reload.js';

runMain('binhost-target', async () => {
  let values;
  try {
    ({ values } = parseArgs({
      options: { config: { type: 'string', default: DEFAULT_PATHS.targetConfig }, 'check-config': { type: 'boolean' }, help: { type: 'boolean' } },
    }));
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (values.help) {
    process.stdout.write('usage: binhost-target [--config FILE] [--check-config]\n');
    return EXIT.OK;
  }
  const config = await loadTargetConfig(values.config);
  if (values['check-config']) {
    await readTlsFiles(config.tls, config.configFile); // certificates present, key not readable by others
    process.stdout.write(`${config.configFile}: ok\n`);
    return EXIT.OK;
  }
  const log = createLogger({ level: config.logLevel, base: { agent: 'target' } });
  const daemon = new TargetDaemon({ config, log });
  const reloader = createConfigReloader({ file: config.configFile, load: loadTargetConfig, current: config, liveKeys: TARGET_LIVE_KEYS, log, apply: (next) => (daemon.config = next) });
  const stopReloads = onReloadSignal(() => void reloader.reload());
  // Handlers go in before start: until Node has a listener, SIGTERM's default action kills outright.
  const stopSignal = waitForStopSignal();
  await daemon.start();
  const signal = await stopSignal;
  stopReloads();
  log.info({ signal }, 'stopping');
  await daemon.stop();
  return EXIT.OK;
});
