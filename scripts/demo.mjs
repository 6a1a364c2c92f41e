#!/usr/bin/env node
// The README's demo (`npm run demo`), on a machine with Node, npm and Python:
//   a generated PKI, the host and target agents as real processes on loopback, a small synthetic
//   stage3 root, real Portage (the pinned release from scripts/portage.mjs) as both agents' emerge,
//   then a change in the target's package.use → automatic rebuild → signed snapshot → the target
//   installs it → `binhostctl status` shows the installed snapshot. Prints each step; cleans up
//   after itself. `--keep` leaves the temp dir for a look around; `--stand-in` runs the fast
//   stand-in emerge of the tests (test/fixtures/bin/emerge) instead of Portage.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync, readFileSync, renameSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const bin = {
  host: join(repo, 'packages/agent-host/dist/main.js'),
  target: join(repo, 'packages/agent-target/dist/main.js'),
  ctl: join(repo, 'packages/cli/dist/main.js'),
};
const standIn = join(repo, 'test/fixtures/bin/emerge');
const testRepo = join(repo, 'test/fixtures/repo');
const keep = process.argv.includes('--keep');
const useStandIn = process.argv.includes('--stand-in');
const work = mkdtempSync(join(tmpdir(), 'binhost-demo-'));
// like /var/lib: Portage verifies packages as nobody, who must pass through to the keyrings
chmodSync(work, 0o755);
const started = Date.now();
const pki = join(work, 'pki');
const targetRoot = join(work, 'target-root');
const children = [];
/** What each agent has logged so far ({agent, msg, ...fields}), for waiting on a line. */
const logged = [];
const step = (msg) => console.log(`\n==> ${msg}`);
const ctlEnv = { ...process.env, BINHOST_ADMIN_CONFIG: join(work, 'admin.toml') };

function ctl(...args) {
  const res = spawnSync(process.execPath, [bin.ctl, ...args], { encoding: 'utf8', env: ctlEnv });
  if (res.status !== 0) throw new Error(`binhostctl ${args.join(' ')} failed (${res.status}): ${res.stderr}`);
  return res.stdout;
}
const show = (text) => process.stdout.write(text.replace(/^(?=.)/gm, '    '));

function start(name, file, config) {
  const child = spawn(process.execPath, [file, '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  child.stdout.on('data', (d) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      try {
        const j = JSON.parse(line);
        logged.push({ agent: name, ...j });
        // a digest is shortened to its start; an error is shown whole
        const extra = ['target', 'buildId', 'snapshotId', 'digest', 'err']
          .filter((k) => j[k] !== undefined)
          .map((k) => `${k}=${typeof j[k] === 'object' ? j[k].message : k === 'digest' ? String(j[k]).slice(0, 19) : String(j[k])}`)
          .join(' ');
        if (j.level >= 30) console.log(`    [${name}] ${j.msg}${extra ? ` (${extra})` : ''}`);
      } catch {
        console.log(`    [${name}] ${line}`);
      }
    }
  });
  children.push(child);
  return child;
}

async function waitUntil(check, what, ms = 120_000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function status() {
  return JSON.parse(ctl('--json', 'status')).targets.find((t) => t.name === 'demo-target');
}

function writeAtomic(file, text) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const tls = (role, name) => `[tls]\nca = "${pki}/ca.pem"\ncert = "${pki}/${role}-${name}.pem"\nkey = "${pki}/${role}-${name}.key"\n`;
const vdb = (pkg, key) => readFileSync(join(targetRoot, 'var/db/pkg', pkg, key), 'utf8').trim();

try {
  step(`generating a PKI in ${pki} (binhostctl pki)`);
  show(ctl('pki', 'init', '--dir', pki));
  show(ctl('pki', 'issue', 'host', 'demo-host', '--san', 'localhost', '--dir', pki));
  show(ctl('pki', 'issue', 'target', 'demo-target', '--dir', pki));
  show(ctl('pki', 'issue', 'admin', 'demo-admin', '--dir', pki));

  step('making a small synthetic stage3 tarball (with the stage3\'s own gentoobinhost entry)');
  const tree = join(work, 'stage3-tree');
  for (const d of ['etc/portage/binrepos.conf', 'var/lib/portage', 'var/db/pkg', 'var/cache/binpkgs', 'usr/bin', 'tmp']) mkdirSync(join(tree, d), { recursive: true });
  writeFileSync(join(tree, 'etc/portage/make.conf'), 'COMMON_FLAGS="-O2 -pipe"\nCFLAGS="${COMMON_FLAGS}"\n');
  writeFileSync(join(tree, 'etc/portage/binrepos.conf/gentoobinhost.conf'), '[gentoobinhost]\npriority = 1\nsync-uri = https://distfiles.gentoo.org/releases/amd64/binpackages/23.0/x86-64/\n');
  const stage3 = join(work, 'stage3-demo.tar');
  const tar = spawnSync('tar', ['-C', tree, '--numeric-owner', '-cf', stage3, '.']);
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);

  step(`the target's own system at ${targetRoot}: -march=native, @world = app-misc/hello app-misc/greet`);
  mkdirSync(join(targetRoot, 'etc/portage/package.use'), { recursive: true });
  mkdirSync(join(targetRoot, 'var/lib/portage'), { recursive: true });
  writeFileSync(join(targetRoot, 'etc/portage/make.conf'), 'COMMON_FLAGS="-O2 -pipe -march=native"\nCFLAGS="${COMMON_FLAGS}"\nCXXFLAGS="${COMMON_FLAGS}"\n');
  symlinkSync(join(testRepo, 'profiles/default/linux/amd64/harness'), join(targetRoot, 'etc/portage/make.profile'));
  writeFileSync(join(targetRoot, 'var/lib/portage/world'), 'app-misc/hello\napp-misc/greet\n');

  writeFileSync(join(targetRoot, 'etc/portage/repos.conf'), `[DEFAULT]\nmain-repo = gentoo\n\n[gentoo]\nlocation = ${testRepo}\n`);

  let emerge = [standIn];
  let emergeName = 'the stand-in';
  let hostWritable = [];
  if (!useStandIn) {
    const { makeMachine, PORTAGE_VERSION } = await import('./portage.mjs');
    step(`real Portage ${PORTAGE_VERSION} for both agents, its running root at ${join(work, 'machine')} (scripts/portage.mjs)`);
    const machine = makeMachine(join(work, 'machine'), testRepo);
    emerge = [machine.emerge];
    // what --root-deps merges for Portage's running root lands in each root's own layer of it
    hostWritable = [machine.machine];
    emergeName = `real Portage ${PORTAGE_VERSION}`;
  }
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    join(work, 'host.toml'),
    `listen = "127.0.0.1:${port}"\nstate_dir = "${work}/host-state"\n${tls('host', 'demo-host')}` +
      `[build]\nemerge = ${JSON.stringify(emerge)}\nrepository = "${testRepo}"\ncancel_grace_seconds = 5\nhost_writable = ${JSON.stringify(hostWritable)}\n[signing]\nenabled = true\n`,
  );
  writeFileSync(
    join(work, 'target.toml'),
    `host = "127.0.0.1:${port}"\nserver_name = "localhost"\nroot = "${targetRoot}"\nstate_dir = "${work}/target-state"\n` +
      `${tls('target', 'demo-target')}[report]\ndebounce_ms = 200\n[install]\npolicy = "auto"\nemerge = ${JSON.stringify(emerge)}\n`,
  );
  writeFileSync(join(work, 'admin.toml'), `host = "127.0.0.1:${port}"\nserver_name = "localhost"\n${tls('admin', 'demo-admin')}`);

  step(`starting the host agent on 127.0.0.1:${port} (the only listener; emerge = ${emergeName})`);
  start('host', bin.host, join(work, 'host.toml'));
  // the target would otherwise dial before the host listens, and log a first retry
  await waitUntil(() => logged.some((l) => l.agent === 'host' && l.msg === 'listening'), 'the host to listen', 30_000);
  step('starting the target agent: it dials the host and reports its state');
  start('target', bin.target, join(work, 'target.toml'));
  await waitUntil(() => {
    try {
      return status()?.configDigest;
    } catch {
      return undefined;
    }
  }, 'the target to report its state');
  show(ctl('targets'));

  step('binhostctl target add demo-target --stage3 stage3-demo.tar  (root created, config applied, build starts)');
  show(ctl('target', 'add', 'demo-target', '--stage3', stage3));
  step('waiting for: build → signed snapshot #1 → install on the target');
  await waitUntil(() => status()?.installedSnapshotId >= 1, 'the first install');
  show(ctl('status'));
  console.log(`    target /var/db/pkg/app-misc/greet-1.0/USE:    ${vdb('app-misc/greet-1.0', 'USE')}`);
  console.log(`    target /var/db/pkg/app-misc/greet-1.0/CFLAGS: ${vdb('app-misc/greet-1.0', 'CFLAGS')}`);

  step("the admin of the target turns off greet's \"loud\" USE flag: etc/portage/package.use/greet");
  writeAtomic(join(targetRoot, 'etc/portage/package.use/greet'), 'app-misc/greet -loud\n');
  await waitUntil(() => {
    const s = status();
    return s?.installedSnapshotId >= 2 && s.builtDigest === s.configDigest;
  }, 'the rebuild and its install');
  // the host knows of the install before the target's own log line about it has been printed here
  await waitUntil(() => logged.some((l) => l.agent === 'target' && l.msg === 'snapshot installed' && l.snapshotId >= 2), "the target's report of the install", 30_000);
  step('binhostctl status');
  show(ctl('status'));
  step('binhostctl builds demo-target');
  show(ctl('builds', 'demo-target'));
  step('binhostctl history demo-target');
  show(ctl('history', 'demo-target'));
  const use = vdb('app-misc/greet-1.0', 'USE');
  console.log(`    target /var/db/pkg/app-misc/greet-1.0/USE:    ${use}`);
  console.log(`    target /var/db/pkg/app-misc/greet-1.0/CFLAGS: ${vdb('app-misc/greet-1.0', 'CFLAGS')}`);
  if (use.split(' ').includes('loud')) throw new Error('greet was reinstalled but still has USE=loud');
  const snapshotDir = join(work, 'host-state/roots/demo-target.meta/snapshots/2');
  const index = readFileSync(join(snapshotDir, 'Packages'), 'utf8');
  const greetPath = /CPV: app-misc\/greet-1\.0\n(?:.*\n)*?PATH: (.*)\n/.exec(index)?.[1];
  const members = spawnSync('tar', ['-tf', join(snapshotDir, greetPath)], { encoding: 'utf8' }).stdout.trim().split('\n');
  console.log(`    snapshot #2 ${greetPath}: ${members.map((m) => m.split('/').pop()).join(', ')}`);
  if (!members.some((m) => m.endsWith('.sig'))) throw new Error('the published package is not signed');
  step(`done in ${Math.round((Date.now() - started) / 1000)} s: the package.use change flowed through to an installed, signed package built with the resolved -march (${emergeName})`);
} catch (err) {
  console.error(`\ndemo failed: ${err.message}`);
  try {
    show(ctl('status'));
    show(ctl('builds', 'demo-target'));
  } catch {
    // the host is not reachable: its log above says why
  }
  process.exitCode = 1;
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', r)))));
  // gpg leaves an agent for the host's signing keyring: stop it before removing the dir
  for (const home of [join(work, 'host-state/keys/demo-target/secret'), join(targetRoot, 'etc/portage/gnupg')]) {
    if (existsSync(home)) spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
  }
  if (!keep) rmSync(work, { recursive: true, force: true, maxRetries: 5 });
  step(keep ? `stopped both agents; kept ${work}` : 'stopped both agents and cleaned up');
}
