import { parseArgs } from 'node:util';
import { createLogger, type Logger } from './logger.js';
import { EXIT, onReloadSignal, runMain, UsageError, waitForStopSignal } from './lifecycle.js';
import { createConfigReloader } from './config/config-reloader.js';
import { readTlsFiles, type TlsFiles } from './grpc/tls-files.js';
import { errorMessage } from './errors.js';

/** What an agent's config has in common: where it came from, its log level and its certificates. */
interface AgentConfig {
  readonly configFile: string;
  readonly logLevel: string;
  readonly tls: TlsFiles;
}

/** A running agent, as its main loop sees it. */
export interface AgentDaemon {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

/** Describes one agent program for {@link runDaemonMain}. */
export interface DaemonProgram<C extends AgentConfig, D extends AgentDaemon> {
  /** `binhost-host` */
  program: string;
  /** `host`: the `agent` field of every log line, and the role its certificate must have. */
  agent: 'host' | 'target';
  /** The config file used without `--config`. */
  defaultConfig: string;
  /** `--version`: the program's version (see {@link packageVersion}). */
  version: string;
  load(file: string): Promise<C>;
  /** Config paths a SIGHUP applies without a restart (besides `logLevel`). */
  liveKeys: readonly string[];
  create(config: C, log: Logger): D;
  /** Puts a reloaded config in place in the running daemon. */
  apply?(daemon: D, next: C): void;
}

function usage(p: { program: string; defaultConfig: string }): string {
  return [
    `usage: ${p.program} [--config FILE] [--check-config]`,
    `  --config FILE   the config file (default: ${p.defaultConfig})`,
    '  --check-config  check the config file and its TLS files, then exit (0 ok, 78 not)',
    '  -h, --help      show this help',
    '  -V, --version   print the version',
    'exit codes: 0 stopped cleanly, 1 failed, 2 bad usage, 78 configuration error',
  ].join('\n');
}

/**
 * The main loop both agents share: `--config FILE`, `--check-config` (the file and its TLS
 * files), `--help`, `--version`; then start, reload on SIGHUP, stop on SIGTERM/SIGINT. Exit codes come from
 * {@link runMain}: 0 stopped cleanly, 2 bad usage, 78 misconfigured, 1 anything else.
 */
export function runDaemonMain<C extends AgentConfig, D extends AgentDaemon>(p: DaemonProgram<C, D>): void {
  runMain(p.program, async () => {
    let values;
    try {
      ({ values } = parseArgs({
        options: {
          config: { type: 'string', default: p.defaultConfig },
          'check-config': { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
          version: { type: 'boolean', short: 'V' },
        },
      }));
    } catch (err) {
      throw new UsageError(`${errorMessage(err)}\n${usage(p)}`);
    }
    if (values.help) {
      process.stdout.write(`${usage(p)}\n`);
      return EXIT.OK;
    }
    if (values.version) {
      process.stdout.write(`${p.program} ${p.version}\n`);
      return EXIT.OK;
    }
    const config = await p.load(values.config);
    if (values['check-config']) {
      await readTlsFiles(config.tls, config.configFile, p.agent); // PEM, the key is the cert's, the cert's role, key not readable by others
      process.stdout.write(`${config.configFile}: ok\n`);
      return EXIT.OK;
    }
    const log = createLogger({ level: config.logLevel, base: { agent: p.agent } });
    const daemon = p.create(config, log);
    const apply = p.apply;
    const reloader = createConfigReloader({
      file: config.configFile,
      load: p.load,
      current: config,
      liveKeys: p.liveKeys,
      log,
      ...(apply ? { apply: (next: C) => apply(daemon, next) } : {}),
    });
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
}
