import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import { waitFor } from './helpers/wait-for.js';
import { writeSnapshot } from './helpers/publish-snapshot.js';
import { createNetnsPair, netnsAvailable, type NetnsPair } from './helpers/netns.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const FAKE_EMERGE = join(REPO, 'test/fixtures/delivery/fake-emerge.mjs');
const USE_NETNS = netnsAvailable();
const PORT = 47_000 + Math.floor(Math.random() * 1000);

/** Runs `node <pkg>/dist/main.js args` (inside `prefix`, e.g. ip netns exec), output to a file. */
function agent(prefix: string[], pkg: string, args: string[], out: string[]): ChildProcess {
  const argv = [...prefix, process.execPath, join(REPO, 'packages', pkg, 'dist/main.js'), ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  return child;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe(USE_NETNS ? 'two machines: host and target agents as processes in separate network namespaces (veth, 192.0.2.0/24)' : 'two processes on loopback (ip netns is not available here)', () => {
  const h = useHarness();
  let net: NetnsPair | undefined;
  const procs: ChildProcess[] = [];

  beforeEach(async () => {
    net = USE_NETNS ? createNetnsPair() : undefined;
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await stopProcess(p);
    net?.remove();
  });

  it('delivers a published snapshot over mTLS across the link and installs it, and status shows it', async () => {
    const hostAddr = net?.host.address ?? '127.0.0.1';
    const prefixHost = net ? net.exec(net.host.ns) : [];
    const prefixTarget = net ? net.exec(net.target.ns) : [];
    const hostTls = await h.pki.files('host', 'host');
    const t = await h.pki.files('target', 'alpha');
    const a = await h.pki.files('admin', 'root');
    const tls = (f: { ca: string; cert: string; key: string }) => `[tls]\nca = "${f.ca}"\ncert = "${f.cert}"\nkey = "${f.key}"\n`;
    const stateDir = join(h.dir, 'host-state');
    await writeFile(join(h.dir, 'host.toml'), `listen = "${hostAddr}:${PORT}"\nstate_dir = "${stateDir}"\n${tls(hostTls)}`);
    await writeFile(
      join(h.dir, 'target.toml'),
      `host = "${hostAddr}:${PORT}"\nserver_name = "${TEST_SERVER_NAME}"\nroot = "${join(h.dir, 'root')}"\nstate_dir = "${join(h.dir, 'target-state')}"\n` +
        `[install]\npolicy = "auto"\nemerge = ${JSON.stringify([process.execPath, FAKE_EMERGE])}\n${tls(t)}`,
    );
    await writeFile(join(h.dir, 'admin.toml'), `host = "${hostAddr}:${PORT}"\nserver_name = "${TEST_SERVER_NAME}"\n${tls(a)}`);
    const pkg = { path: 'app-misc/hello/hello-1.0-1.gpkg.tar', data: randomBytes(3 * 1024 * 1024 + 7) };
    await writeSnapshot({ stateDir, root: 'alpha', id: 1, files: [pkg], publishFor: ['alpha'] });

    await mkdir(join(h.dir, 'root/etc/portage'), { recursive: true });
    const hostOut: string[] = [];
    const targetOut: string[] = [];
    procs.push(agent(prefixHost, 'agent-host', ['--config', join(h.dir, 'host.toml')], hostOut));
    await waitFor(() => hostOut.join('').includes('"msg":"listening"'), { timeoutMs: 30_000, what: 'host listening' });
    procs.push(agent(prefixTarget, 'agent-target', ['--config', join(h.dir, 'target.toml')], targetOut));
    const vdb = join(h.dir, 'root/var/db/pkg/app-misc/hello-1.0/BINPKGMD5');
    await waitFor(() => readFile(vdb, 'utf8').catch(() => ''), { timeoutMs: 30_000, what: `install on the target (log: ${targetOut.join('').slice(-2000)})` });
    expect(targetOut.join('')).toContain('"msg":"snapshot mirrored"');

    // the mirror endpoint is on the target's loopback only: not reachable from the host namespace
    const port = Number(/"port":(\d+),"binrepos"/.exec(targetOut.join(''))?.[1]);
    expect(port).toBeGreaterThan(0);
    if (net) {
      const probe = spawn('ip', [...net.exec(net.host.ns).slice(1), 'curl', '-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', `http://192.0.2.2:${port}/Packages`]);
      const code = await new Promise<number | null>((r) => probe.on('exit', r));
      expect(code).not.toBe(0); // connection refused: nothing listens on the target's network
    }

    const cliOut: string[] = [];
    const cli = agent(prefixHost, 'cli', [`--config=${join(h.dir, 'admin.toml')}`, '--json', 'status'], cliOut);
    expect(await new Promise((r) => cli.on('exit', r)), cliOut.join('')).toBe(0);
    const status = (JSON.parse(cliOut.join('')) as { targets: { name: string; connected: boolean; publishedSnapshotId: number; installedSnapshotId: number }[] }).targets;
    expect(status).toEqual([expect.objectContaining({ name: 'alpha', connected: true, publishedSnapshotId: 1, installedSnapshotId: 1 })]);
  });
});
