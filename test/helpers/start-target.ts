import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTargetConfig, silentLogger, type Logger, type TargetState } from '@binhost/shared';
import { TargetDaemon, type TargetDaemonOptions } from '@binhost/agent-target';
import { TEST_SERVER_NAME, type TestPki } from './pki.js';

/** A running target agent dialing `address`. */
export interface StartedTarget {
  daemon: TargetDaemon;
  configFile: string;
  root: string;
  stop(): Promise<void>;
}

/** Writes a target.toml into `dir` and starts a target agent with fast reconnects. */
export async function startTarget(options: {
  dir: string;
  pki: TestPki;
  name: string;
  address: string;
  log?: Logger;
  extra?: string;
  collectState?: () => Promise<TargetState>;
  /** Delivery hooks (test writers, command runner). */
  delivery?: TargetDaemonOptions['delivery'];
}): Promise<StartedTarget> {
  const tls = await options.pki.files('target', options.name);
  const root = join(options.dir, 'root');
  await mkdir(root, { recursive: true });
  const configFile = join(options.dir, 'target.toml');
  await writeFile(
    configFile,
    [
      `host = ${JSON.stringify(options.address.replace('127.0.0.1', TEST_SERVER_NAME))}`,
      `root = ${JSON.stringify(root)}`,
      `state_dir = ${JSON.stringify(join(options.dir, 'target-state'))}`,
      options.extra ?? '',
      '[tls]',
      `ca = ${JSON.stringify(tls.ca)}`,
      `cert = ${JSON.stringify(tls.cert)}`,
      `key = ${JSON.stringify(tls.key)}`,
      '',
    ].join('\n'),
  );
  const loaded = await loadTargetConfig(configFile);
  // The host name in the file is the certificate's; dial the loopback address it stands for.
  const config = { ...loaded, host: options.address };
  const daemon = new TargetDaemon({
    config,
    log: options.log ?? silentLogger(),
    backoff: { initialMs: 50, maxMs: 300 },
    ...(options.collectState ? { collectState: options.collectState } : {}),
    ...(options.delivery ? { delivery: options.delivery } : {}),
  });
  await daemon.start();
  return { daemon, configFile, root, stop: () => daemon.stop() };
}
