import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useHarness } from './helpers/harness.js';
import { REPO } from './helpers/repo.js';
import { spawnAgent } from './helpers/agent-process.js';

/**
 * deploy/stage.sh then deploy/install.sh into a DESTDIR, as a packager (or the ebuild) runs them;
 * then the installed tree is inspected and run from where it was installed, outside the
 * workspace, so it must find every dependency in its own node_modules.
 */
describe('deploy/install.sh', () => {
  const h = useHarness({ prefix: 'binhost-install-', scope: 'all' });
  let lib: string;
  let dest: string;
  /** What beforeAll's stage.sh and install.sh did; install is undefined when staging failed. */
  let setup: { stage: ShResult; install: ShResult | undefined };
  const asRoot = process.getuid?.() === 0;

  function sh(args: string[], env: Record<string, string> = {}): ShResult {
    const res = spawnSync('sh', args, { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...env } });
    return { args, status: res.status, signal: res.signal, error: res.error, stdout: res.stdout, stderr: res.stderr };
  }

  // beforeAll only records: a hook that throws or times out makes vitest report every test here
  // as skipped, with no reason given. Each test calls requireInstalled() first and so fails with
  // the scripts' output. The scripts' deadlines add up to less than the hook's timeout.
  beforeAll(async () => {
    lib = join(h.dir, 'lib');
    dest = join(h.dir, 'dest');
    const stage = await shWithDeadline(['deploy/stage.sh', lib], {}, 240_000);
    const install = isClean(stage) ? await shWithDeadline(['deploy/install.sh', '--lib', lib], { DESTDIR: dest }, 50_000) : undefined;
    setup = { stage, install };
  }, 300_000);

  /** Throws, with the failing script's exit status and output, unless staging and installing succeeded. */
  function requireInstalled(): void {
    const { stage, install } = setup;
    if (!isClean(stage)) throw new Error(describeFailure(stage));
    if (!install) throw new Error('deploy/install.sh did not run');
    if (!isClean(install)) throw new Error(describeFailure(install));
  }

  it('stages with deploy/stage.sh and installs with deploy/install.sh: exit 0, nothing on stderr', () => {
    requireInstalled();
    expect(setup.stage.stdout).toContain(`staged ${lib}/host`);
  });

  async function mode(path: string): Promise<string> {
    const st = await lstat(join(dest, path));
    if (asRoot) expect([st.uid, st.gid], path).toEqual([0, 0]);
    return (st.mode & 0o7777).toString(8).padStart(4, '0');
  }

  it('puts every file in its place with the right mode (owner root when run as root)', async () => {
    requireInstalled();
    const expected: Record<string, string> = {
      'etc/binhost': '0755',
      'etc/binhost/pki': '0700',
      'var/lib/binhost': '0711',
      'var/lib/binhost-target': '0750',
      'var/log/binhost': '0750',
      'etc/logrotate.d/binhost': '0644',
      'usr/bin/binhost-host': '0755',
      'usr/bin/binhost-target': '0755',
      'usr/bin/binhostctl': '0755',
      'usr/lib/systemd/system/binhost-host.service': '0644',
      'usr/lib/systemd/system/binhost-target.service': '0644',
      'etc/init.d/binhost-host': '0755',
      'etc/init.d/binhost-target': '0755',
      'etc/conf.d/binhost-host': '0644',
      'etc/conf.d/binhost-target': '0644',
      'etc/binhost/host.toml.example': '0644',
      'etc/binhost/target.toml.example': '0644',
      'etc/binhost/admin.toml.example': '0644',
      'usr/share/bash-completion/completions/binhostctl': '0644',
      'usr/share/zsh/site-functions/_binhostctl': '0644',
      'usr/share/doc/binhost-agents/README.md': '0644',
    };
    const actual: Record<string, string> = {};
    for (const path of Object.keys(expected)) actual[path] = await mode(path);
    expect(actual).toEqual(expected);
    for (const c of ['host', 'target', 'cli']) expect(existsSync(join(dest, 'usr/lib/binhost-agents', c, 'dist/main.js'))).toBe(true);
    // Installed units and init scripts are the shipped files, byte for byte.
    for (const [from, to] of [['deploy/systemd/binhost-host.service', 'usr/lib/systemd/system/binhost-host.service'], ['deploy/openrc/init.d/binhost-target', 'etc/init.d/binhost-target']] as const) {
      expect(await readFile(join(dest, to), 'utf8')).toBe(await readFile(join(REPO, from), 'utf8'));
    }
    expect(await readFile(join(dest, 'usr/bin/binhost-host'), 'utf8')).toContain('exec /usr/bin/node /usr/lib/binhost-agents/host/dist/main.js "$@"');
    expect(spawnSync('bash', ['-n', join(dest, 'usr/share/bash-completion/completions/binhostctl')]).status).toBe(0);
    expect(existsSync(join(dest, 'etc/binhost/host.toml'))).toBe(false);
  });

  it('runs from the installed tree alone: --check-config, the CLI, and a host that starts and stops on SIGTERM', async () => {
    requireInstalled();
    const f = await h.pki.files('host', 'host');
    const config = join(h.dir, 'host.toml');
    await writeFile(config, `listen = "127.0.0.1:0"\nstate_dir = "${join(h.dir, 'state')}"\n[tls]\nca = "${f.ca}"\ncert = "${f.cert}"\nkey = "${f.key}"\n`);
    const installed = (c: string) => join(dest, 'usr/lib/binhost-agents', c, 'dist/main.js');
    const check = spawnSync(process.execPath, [installed('host'), '--config', config, '--check-config'], { cwd: h.dir, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.stdout).toBe(`${config}: ok\n`);
    const cli = spawnSync(process.execPath, [installed('cli'), 'completion', 'bash'], { cwd: h.dir, encoding: 'utf8' });
    expect(cli.stdout).toContain('complete -F _binhostctl binhostctl');

    const host = spawnAgent(installed('host'), ['--config', config]);
    await host.waitForLine((l) => l['msg'] === 'listening');
    host.child.kill('SIGTERM');
    expect(await host.exited).toBe(0);
  });

  it('keeps an admin-edited conf.d file and config on reinstall, and replaces the program tree', async () => {
    requireInstalled();
    await writeFile(join(dest, 'etc/conf.d/binhost-host'), 'BINHOST_OPTS="--mine"\n');
    await writeFile(join(dest, 'etc/binhost/host.toml'), '# mine\n');
    await writeFile(join(dest, 'usr/lib/binhost-agents/host/stale-file'), 'old');
    const again = sh(['deploy/install.sh', '--lib', lib, '--destdir', dest, 'host']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`keeping ${dest}/etc/conf.d/binhost-host`);
    expect(await readFile(join(dest, 'etc/conf.d/binhost-host'), 'utf8')).toBe('BINHOST_OPTS="--mine"\n');
    expect(await readFile(join(dest, 'etc/binhost/host.toml'), 'utf8')).toBe('# mine\n');
    expect(existsSync(join(dest, 'usr/lib/binhost-agents/host/stale-file'))).toBe(false);
    expect(existsSync(join(dest, 'usr/lib/binhost-agents/host.new'))).toBe(false);
  });

  it('--dry-run prints the steps and changes nothing; bad arguments are refused by name', async () => {
    requireInstalled();
    const dry = join(h.dir, 'dry');
    const res = sh(['deploy/install.sh', '--dry-run', '--lib', lib, '--destdir', dry, '--init', 'systemd', 'target']);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain(`chmod 0750 ${dry}/var/lib/binhost-target`);
    expect(res.stdout).toContain(`cp ${REPO.replace(/\/$/, '')}/deploy/systemd/binhost-target.service ${dry}/usr/lib/systemd/system/binhost-target.service`);
    expect(res.stdout).not.toContain('init.d');
    expect(res.stdout.split('\n')[0]).toBe('init system: systemd (--init systemd)');
    expect(existsSync(dry)).toBe(false);
    // The init system is named with its reason, in dry runs and real ones alike.
    const auto = sh(['deploy/install.sh', '--dry-run', '--lib', lib, '--destdir', dry, 'target']);
    expect(auto.stdout.split('\n')[0]).toBe('init system: both (a DESTDIR: systemd units and OpenRC scripts both; --init picks one)');
    const none = sh(['deploy/install.sh', '--dry-run', '--lib', lib, '--destdir', dry, '--init', 'none', 'target']);
    expect(none.stdout.split('\n')[0]).toBe('init system: none (--init none: no service files)');
    expect(none.stdout).not.toContain('systemd/system');
    // Without a DESTDIR, auto looks at this machine (a dry run changes nothing).
    const sd = existsSync('/run/systemd/system');
    const rc = existsSync('/sbin/openrc-run');
    const here = sh(['deploy/install.sh', '--dry-run', '--lib', lib, 'target'], { DESTDIR: '' });
    expect(here.stdout.split('\n')[0]).toBe(
      sd && rc
        ? 'init system: both (systemd found (/run/systemd/system) and OpenRC found (/sbin/openrc-run))'
        : sd
          ? 'init system: systemd (systemd found (/run/systemd/system))'
          : rc
            ? 'init system: openrc (OpenRC found (/sbin/openrc-run))'
            : 'init system: none (neither systemd nor OpenRC found: no service files; --init systemd, openrc or both installs them)',
    );
    expect(setup.install!.stdout).toContain('init system: both (a DESTDIR');
    const bad = sh(['deploy/install.sh', '--init', 'upstart', '--destdir', dry]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('install.sh: --init: expected auto, systemd, openrc, both or none, got "upstart"\n');
    const nothing = sh(['deploy/install.sh', '--lib', join(h.dir, 'none'), '--destdir', dry]);
    expect(nothing.stderr).toContain("run 'sh deploy/stage.sh' in a built checkout first");
    expect(existsSync(dry)).toBe(false);
  });

  it('release.sh makes the tarball the ebuild unpacks; the ebuild and install.sh install the same tree', async () => {
    requireInstalled();
    const rel = sh(['deploy/release.sh', '--lib', lib, join(h.dir, 'release')]);
    expect(rel.stderr).toBe('');
    const tarball = join(h.dir, 'release', 'binhost-agents-0.1.0.tar.gz');
    expect(rel.stdout.trim()).toBe(tarball);
    const work = join(h.dir, 'work');
    expect(spawnSync('sh', ['-c', `mkdir -p "${work}" && tar -C "${work}" -xzf "${tarball}"`]).status).toBe(0);
    const S = join(work, 'binhost-agents-0.1.0');

    // install.sh from the unpacked tarball finds the programs in its own build/lib.
    const viaScript = join(h.dir, 'via-install-sh');
    expect(spawnSync('sh', [join(S, 'deploy/install.sh'), '--destdir', viaScript, '--init', 'both'], { encoding: 'utf8' }).status).toBe(0);

    // The ebuild's src_compile and src_install, under test/fixtures/ebuild-helpers.sh.
    const viaEbuild = join(h.dir, 'via-ebuild');
    const ebuild = join(S, 'deploy/gentoo/app-admin/binhost-agents/binhost-agents-0.1.0.ebuild');
    const run = spawnSync('bash', [join(REPO, 'test/fixtures/ebuild-helpers.sh'), ebuild], {
      encoding: 'utf8',
      env: { ...process.env, S, D: viaEbuild, CATEGORY: 'app-admin', PN: 'binhost-agents', PV: '0.1.0' },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);

    const a = await listTree(viaScript);
    const b = await listTree(viaEbuild, (p) => p.replace('usr/share/doc/binhost-agents-0.1.0', 'usr/share/doc/binhost-agents'));
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    const outsideLib = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([p]) => !p.startsWith('usr/lib/binhost-agents/')));
    expect(outsideLib(b)).toEqual(outsideLib(a));
    const execLine = async (root: string) => (await readFile(join(root, 'usr/bin/binhost-target'), 'utf8')).split('\n').find((l) => l.startsWith('exec '));
    expect(await execLine(viaEbuild)).toBe(await execLine(viaScript));
  }, 300_000);
});

/** One run of a deploy script by the `sh` helper. */
interface ShResult {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  error: Error | undefined;
  stdout: string;
  stderr: string;
}

/**
 * `sh ARGS` in the repository, in a process group of its own, killed with everything it started
 * (pnpm under npx) when `ms` pass: sh runs a trap only after its foreground command returns.
 */
function shWithDeadline(args: string[], env: Record<string, string>, ms: number): Promise<ShResult> {
  return new Promise((resolve) => {
    const child = spawn('sh', args, { cwd: REPO, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      error = new Error(`no exit within ${ms} ms: killed`);
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, ms);
    child.on('error', (err) => (error = err));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ args, status, signal, error, stdout, stderr });
    });
  });
}

/** Exit 0 and nothing on stderr: the deploy scripts print only their results on success. */
function isClean(res: ShResult): boolean {
  return res.status === 0 && res.stderr === '' && !res.error;
}

/** The message a test fails with when a deploy script did not run cleanly: how it ended, and its output. */
function describeFailure(res: ShResult): string {
  const how = res.error ? `could not run: ${res.error.message}` : res.signal ? `killed by ${res.signal}` : `exit ${res.status}`;
  return [`sh ${res.args.join(' ')}: ${how}`, '--- stderr ---', res.stderr.trimEnd(), '--- stdout ---', res.stdout.trimEnd()].join('\n');
}

/** Every path under `root` with its type and mode, leaving out Portage's .keep files. */
async function listTree(root: string, rename: (p: string) => string = (p) => p): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true })) {
    if (/(^|\/)\.keep_/.test(entry)) continue;
    const st = await lstat(join(root, entry));
    const kind = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
    out[rename(entry)] = kind === 'link' ? kind : `${kind} ${(st.mode & 0o7777).toString(8)}`;
  }
  return out;
}
