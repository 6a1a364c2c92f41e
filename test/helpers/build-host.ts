import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import {
  callServerStream,
  callUnary,
  FileKind,
  loadHostConfig,
  silentLogger,
  stateDigest,
  TargetState,
  type FileEntry,
  type OpenEventsResponse,
  type TargetState as TargetStateT,
} from '@binhost/shared';
import { HostDaemon, type HostDaemonOptions } from '@binhost/agent-host';
import { dispatch } from '@binhost/cli';
import { clientsFor } from './clients.js';
import { TEST_SERVER_NAME, type TestPki } from './pki.js';

/** The stand-in emerge (test/fixtures/README.md). */
const STAND_IN_EMERGE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bin', 'emerge');

/** The stand-in's test controls, passed through the host's environment to the next emerge runs. */
export interface EmergeControl {
  /** BINHOST_FAKE_EMERGE_FAIL: these packages fail their compile phase. */
  fail?: string;
  /** BINHOST_FAKE_EMERGE_DELAY_MS: per phase. */
  delayMs?: number;
  /** BINHOST_FAKE_EMERGE_PRESERVED: a build leaves this package linking a preserved library. */
  preserved?: string;
}

/** A host whose emerge is the test emerge, with a root for target "alpha" and a config applier that copies state files. */
export interface BuildHost {
  daemon: HostDaemon;
  address: string;
  port: number;
  stateDir: string;
  /** Its host.toml (a test may rewrite it and reload). */
  configFile: string;
  applied: string[];
  /** Sets the stand-in's controls for emerge runs started from now on. */
  control(c: EmergeControl): void;
  /** Stops the host and clears the controls. */
  stop(): Promise<void>;
}

/** Starts a host agent whose `build.emerge` runs the test emerge under node. */
export async function startBuildHost(options: { dir: string; pki: TestPki; extra?: string; emerge?: string[]; port?: number; daemon?: Partial<HostDaemonOptions> }): Promise<BuildHost> {
  const tls = await options.pki.files('host', 'host');
  const stateDir = join(options.dir, 'host-state');
  await mkdir(join(stateDir, 'roots', 'alpha'), { recursive: true });
  // The host hands its environment (minus Portage variables) to emerge: that is how the
  // stand-in's controls reach it.
  const control = (c: EmergeControl) => {
    if (c.fail) process.env['BINHOST_FAKE_EMERGE_FAIL'] = c.fail;
    else delete process.env['BINHOST_FAKE_EMERGE_FAIL'];
    if (c.delayMs) process.env['BINHOST_FAKE_EMERGE_DELAY_MS'] = String(c.delayMs);
    else delete process.env['BINHOST_FAKE_EMERGE_DELAY_MS'];
    if (c.preserved) process.env['BINHOST_FAKE_EMERGE_PRESERVED'] = c.preserved;
    else delete process.env['BINHOST_FAKE_EMERGE_PRESERVED'];
  };
  control({});
  const emerge = options.emerge ?? [STAND_IN_EMERGE];
  const configFile = join(options.dir, 'host.toml');
  await writeFile(
    configFile,
    [
      `listen = "127.0.0.1:0"`,
      `state_dir = ${JSON.stringify(stateDir)}`,
      `[build]`,
      `emerge = ${JSON.stringify(emerge)}`,
      `cancel_grace_seconds = 1`,
      options.extra ?? '',
      `[tls]`,
      `ca = ${JSON.stringify(tls.ca)}`,
      `cert = ${JSON.stringify(tls.cert)}`,
      `key = ${JSON.stringify(tls.key)}`,
      '',
    ].join('\n'),
  );
  const applied: string[] = [];
  const daemon = new HostDaemon({
    config: await loadHostConfig(configFile),
    log: silentLogger(),
    shutdownGraceMs: 1000,
    ...(options.port ? { listen: `127.0.0.1:${options.port}` } : {}),
    applier: {
      async apply(root, state) {
        for (const f of state.files) {
          if (f.kind !== FileKind.FILE_KIND_REGULAR) continue;
          const file = join(stateDir, 'roots', root, f.path);
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, f.content);
        }
        applied.push(state.digest);
        return { digest: state.digest, appliedAt: new Date(), makeConf: '', rewrites: [], warnings: [], root };
      },
    },
    ...options.daemon,
  });
  const port = await daemon.start();
  return {
    daemon,
    address: `127.0.0.1:${port}`,
    port,
    stateDir,
    configFile,
    applied,
    control,
    async stop() {
      control({});
      await daemon.stop();
    },
  };
}

/** A state with a make.conf and a world file, as a target would report it; `known: false` for unknown native flags. */
export function makeState(makeConf: string, world = 'app-misc/hello\n', known = true): TargetStateT {
  const file = (path: string, text: string): FileEntry => ({ path, kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(text), linkTarget: '' });
  const files = [file('etc/portage/make.conf', makeConf), file('var/lib/portage/world', world)];
  return TargetState.fromPartial({
    digest: stateDigest(files),
    files,
    hostname: 'alpha-box',
    nativeFlags: known ? { known: true, march: 'znver3', mtune: 'znver3', compiler: 'gcc' } : { known: false, error: 'gcc: not found' },
  });
}

/** The target side, raw: reports states and collects the events the host sends. */
export async function targetClient(pki: TestPki, address: string, name = 'alpha') {
  const c = await clientsFor(pki, address, 'target', name);
  const events: OpenEventsResponse[] = [];
  const abort = new AbortController();
  const stream = (async () => {
    try {
      for await (const e of callServerStream(c.target.openEvents.bind(c.target), {}, { signal: abort.signal })) events.push(e);
    } catch {
      // cancelled at close
    }
  })();
  return {
    events,
    client: c.target,
    report: (state: TargetStateT) => callUnary(c.target.reportState.bind(c.target), { state }),
    async close() {
      abort.abort();
      await stream;
      c.close();
    },
  };
}

/** Runs `binhostctl ARGS` in-process against `address` with an admin certificate; captures output. */
export async function cli(pki: TestPki, dir: string, address: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const f = await pki.files('admin', 'root');
  const configFile = join(dir, 'admin.toml');
  const port = address.split(':').pop();
  await writeFile(
    configFile,
    `host = "127.0.0.1:${port}"\nserver_name = "${TEST_SERVER_NAME}"\n[tls]\nca = ${JSON.stringify(f.ca)}\ncert = ${JSON.stringify(f.cert)}\nkey = ${JSON.stringify(f.key)}\n`,
  );
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _e, cb) {
        append(chunk.toString());
        cb();
      },
    });
  // `--config=FILE`: dispatch splits the global flags at the first word not starting with '-'.
  const code = await dispatch([`--config=${configFile}`, ...args], { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}
