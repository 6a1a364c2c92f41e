import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

/** The temporary test emerge (see build-test-emerge.mjs). */
export const TEST_EMERGE = join(dirname(fileURLToPath(import.meta.url)), 'build-test-emerge.mjs');

/** What the test emerge is told to do for the next runs. */
export interface EmergeControl {
  packages?: string[];
  fail?: string;
  delayMs?: number;
  linesPerPhase?: number;
  lock?: boolean;
  ignoreTerm?: boolean;
  grandchildPidFile?: string;
}

/** A host whose emerge is the test emerge, with a root for target "alpha" and a config applier that copies state files. */
export interface BuildHost {
  daemon: HostDaemon;
  address: string;
  port: number;
  stateDir: string;
  applied: string[];
  control(c: EmergeControl): Promise<void>;
  /** Each emerge run: its argv after the control file and the Portage env it got. */
  runs(): Promise<{ args: string[]; env: Record<string, string>; pid: number }[]>;
  stop(): Promise<void>;
}

/** Starts a host agent whose `build.emerge` runs the test emerge under node. */
export async function startBuildHost(options: { dir: string; pki: TestPki; extra?: string; emerge?: string[]; port?: number; daemon?: Partial<HostDaemonOptions> }): Promise<BuildHost> {
  const tls = await options.pki.files('host', 'host');
  const stateDir = join(options.dir, 'host-state');
  const controlFile = join(options.dir, 'emerge-control.json');
  const recordFile = join(options.dir, 'emerge-runs.jsonl');
  await mkdir(join(stateDir, 'roots', 'alpha'), { recursive: true });
  const control = async (c: EmergeControl) => writeFile(controlFile, JSON.stringify({ ...c, record: recordFile }));
  await control({});
  const emerge = options.emerge ?? [process.execPath, TEST_EMERGE, controlFile];
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
    applied,
    control,
    async runs() {
      const text = await readFile(recordFile, 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { args: string[]; env: Record<string, string>; pid: number });
    },
    stop: () => daemon.stop(),
  };
}

/** A state with one make.conf, as a target would report it; `known: false` for unknown native flags. */
export function makeState(makeConf: string, known = true): TargetStateT {
  const files: FileEntry[] = [{ path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(makeConf), linkTarget: '' }];
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
