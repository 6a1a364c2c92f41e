import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { callUnary, FileKind, InstallOutcome, stateDigest, TargetState } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import type { StartedTarget } from './helpers/start-target.js';
import { AGENT_MAIN, spawnAgent, type AgentProcess } from './helpers/agent-process.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { captureLog } from './helpers/capture-log.js';
import { stallingWriter } from './helpers/stalling-writer.js';
import { writeSnapshot } from './helpers/publish-snapshot.js';

const FAKE_EMERGE = fileURLToPath(new URL('./fixtures/delivery/fake-emerge.mjs', import.meta.url));
const files = [{ path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from('CFLAGS="-O2"\n'), linkTarget: '' }];
const state = TargetState.fromPartial({ digest: stateDigest(files), files, hostname: 'alpha' });
const MiB = 1024 * 1024;
/** The target's writer stops here while the host process is killed: the transfer is surely under way. */
const STALL_AT = 6 * MiB;

/**
 * The fault "the host killed mid-transfer", for real: the host agent is the built
 * `main.js` in its own process, SIGKILLed (no shutdown code runs, sockets reset by the kernel)
 * while a 48 MiB package streams to an in-process target, then started again on the same port
 * and state dir. The target resumes from its partial file and installs the verified package.
 */
describe('delivery: the host process is SIGKILLed mid-transfer', () => {
  const h = useHarness({ prefix: 'binhost-host-kill-' });
  let host: AgentProcess | undefined;
  let target: StartedTarget | undefined;

  afterEach(async () => {
    await target?.stop(); // while its host still runs: the harness's teardown comes after this hook
    if (host && host.child.exitCode === null && host.child.signalCode === null) {
      host.child.kill('SIGKILL');
      await host.exited;
    }
    host = target = undefined;
  });

  const stateDir = () => join(h.dir, 'host-state');
  async function writeHostConfig(listen: string): Promise<string> {
    const f = await h.pki.files('host', 'host');
    const file = join(h.dir, 'host.toml');
    await writeFile(
      file,
      `listen = "${listen}"\nstate_dir = ${JSON.stringify(stateDir())}\nlog_level = "info"\n[tls]\nca = ${JSON.stringify(f.ca)}\ncert = ${JSON.stringify(f.cert)}\nkey = ${JSON.stringify(f.key)}\n`,
    );
    return file;
  }
  async function spawnHost(listen: string): Promise<{ proc: AgentProcess; port: number }> {
    const proc = spawnAgent(AGENT_MAIN.host, ['--config', await writeHostConfig(listen)]);
    const line = await proc.waitForLine((l) => l['msg'] === 'listening', { timeoutMs: 20_000 });
    return { proc, port: Number(line['port']) };
  }

  it('resumes from the partial file after the host process restarts; nothing unverified is ever counted', { timeout: 90_000 }, async () => {
    const big = { path: 'app-misc/big/big-1.0-1.gpkg.tar', data: randomBytes(48 * MiB) };
    const sha1 = createHash('sha1').update(big.data).digest('hex');
    // published with no host running, as a build left it: the process owns this state dir
    await writeSnapshot({ stateDir: stateDir(), root: 'alpha', id: 1, files: [big], builtDigest: state.digest, publishFor: ['alpha'] });
    const first = await spawnHost('127.0.0.1:0');
    host = first.proc;

    const slow = stallingWriter(STALL_AT); // holds the transfer while the host process dies
    const cap = captureLog('info');
    await mkdir(join(h.dir, 'alpha/root/etc/portage'), { recursive: true });
    target = await h.startTarget({
      name: 'alpha',
      address: `127.0.0.1:${first.port}`,
      log: cap.log,
      collectState: async () => state,
      extra: `[install]\npolicy = "auto"\nemerge = ${JSON.stringify([process.execPath, FAKE_EMERGE])}\n`,
      // retries outlast the host's restart (a node process start on a busy machine)
      delivery: { mirror: { openWriter: slow.open, backoff: { initialMs: 50, maxMs: 250 }, maxTransportRetries: 400 } },
    });
    await waitFor(() => slow.stalled(), { timeoutMs: 30_000, what: 'transfer under way' });

    host.child.kill('SIGKILL');
    expect(await host.exited).toBe('SIGKILL');
    const mirror = join(h.dir, 'alpha/target-state/mirror');
    const endpoint = `http://127.0.0.1:${target.daemon.delivery!.port}`;
    // mid-transfer: bytes sit in partial/ only; no object, no index, nothing served
    const partials = await readdir(join(mirror, 'partial'));
    expect(partials).toHaveLength(1);
    expect((await stat(join(mirror, 'partial', partials[0]!))).size).toBeGreaterThanOrEqual(STALL_AT);
    expect(await readdir(join(mirror, 'objects'))).toEqual([]);
    expect((await fetch(`${endpoint}/Packages`)).status).toBe(404);
    expect((await fetch(`${endpoint}/${big.path}`)).status).toBe(404);

    slow.release();
    await waitFor(() => cap.lines().some((l) => l['msg'] === 'transfer interrupted, resuming'), { timeoutMs: 30_000, what: 'interruption noticed' });
    expect((await fetch(`${endpoint}/Packages`)).status).toBe(404); // still: the file is not whole
    const restarted = await spawnHost(`127.0.0.1:${first.port}`);
    host = restarted.proc;
    expect(restarted.port).toBe(first.port);

    const finished = await waitFor(
      () => cap.lines().find((l) => l['msg'] === 'sync finished' && l['outcome'] === 'INSTALL_OUTCOME_INSTALLED'),
      { timeoutMs: 60_000, what: 'installed after the host restarted' },
    );
    expect(finished['snapshotId']).toBe(1);
    const lines = cap.lines();
    const resumed = lines.filter((l) => l['msg'] === 'resuming download');
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(Number(resumed[0]!['offset'])).toBeGreaterThanOrEqual(STALL_AT);
    expect(Number(resumed[0]!['offset'])).toBeLessThan(big.data.length);
    // the index became visible only after the resumed download ended (a later sync, started by
    // the reconnect's hello, may mirror again with nothing to fetch)
    const mirrored = lines.findIndex((l) => l['msg'] === 'snapshot mirrored');
    expect(lines[mirrored]).toMatchObject({ snapshotId: 1, filesFetched: 1, bytesFetched: big.data.length });
    expect(mirrored).toBeGreaterThan(lines.lastIndexOf(resumed.at(-1)!));
    expect(lines.slice(mirrored).some((l) => l['msg'] === 'resuming download')).toBe(false);
    expect(lines.some((l) => l['msg'] === 'file failed verification, refetching')).toBe(false);

    const objects = await readdir(join(mirror, 'objects'));
    expect(objects).toHaveLength(1);
    const object = await readFile(join(mirror, 'objects', objects[0]!));
    expect(object.length).toBe(big.data.length);
    expect(createHash('sha1').update(object).digest('hex')).toBe(sha1);
    expect(await readdir(join(mirror, 'partial'))).toEqual([]);
    expect(await readFile(join(target.root, 'var/db/pkg/app-misc/big-1.0/BINPKGMD5'), 'utf8')).toMatch(/^[0-9a-f]{32}/);

    // the restarted host process got the report
    const admin = await clientsFor(h.pki, `127.0.0.1:${first.port}`, 'admin', 'root');
    try {
      const t = await waitFor(
        async () => {
          const r = await callUnary(admin.admin.getTarget.bind(admin.admin), { name: 'alpha' });
          return r.summary?.installedSnapshotId === 1 && r;
        },
        { timeoutMs: 30_000, what: 'install reported to the restarted host' },
      );
      expect(t.lastInstall?.snapshotId).toBe(1);
      expect([InstallOutcome.INSTALL_OUTCOME_INSTALLED, InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE]).toContain(t.lastInstall?.outcome);
    } finally {
      admin.close();
    }
  });
});
