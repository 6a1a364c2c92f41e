import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxArgv, SandboxPathError, type SandboxSpec } from './build-sandbox.js';

function run(argv: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(argv[0]!, argv.slice(1), { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

const exists = (p: string) => access(p).then(() => true, () => false);

describe('sandboxArgv (real unshare and bwrap)', () => {
  let dir: string;
  let spec: SandboxSpec;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandbox-'));
    const state = join(dir, 'state');
    for (const d of ['roots/alpha', 'roots/beta', 'build-tmp/alpha', 'distfiles/alpha', 'keys/alpha/secret', 'keys/beta/secret', 'host/usr', 'etc-binhost']) await mkdir(join(dir, d.startsWith('host') || d.startsWith('etc') ? d : `state/${d}`), { recursive: true });
    await writeFile(join(state, 'keys/beta/secret/private.key'), 'beta secret');
    await writeFile(join(state, 'registry.json'), '{}');
    await writeFile(join(dir, 'etc-binhost/host.key'), 'tls key');
    await writeFile(join(dir, 'host/usr/tool'), 'host tool');
    spec = {
      rootDir: join(state, 'roots/alpha'),
      tmpDir: join(state, 'build-tmp/alpha'),
      distDir: join(state, 'distfiles/alpha'),
      hostLayers: [{ path: join(dir, 'host/usr'), upper: join(state, 'layers/alpha/0/upper'), work: join(state, 'layers/alpha/0/work') }],
      hidden: [state, join(dir, 'etc-binhost')],
      readOnly: [],
      writable: [join(state, 'keys/alpha/secret')],
      bwrap: 'bwrap',
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lets a build write its root and its host layer, and nothing else of the host', async () => {
    const usr = join(dir, 'host/usr');
    const script = [
      `echo built > ${spec.rootDir}/file`,
      `echo secret > ${spec.writable[0]}/ok`,
      `echo layered > ${usr}/new-tool && echo changed > ${usr}/tool`,
      `(echo x > /etc/binhost-sandbox-escape) 2>/dev/null || echo 'host read-only'`,
      `ls ${join(dir, 'state')} | tr '\\n' ' '; echo`,
      `cat ${join(dir, 'state/keys/beta/secret/private.key')} 2>/dev/null || echo 'no beta key'`,
      `cat ${join(dir, 'etc-binhost/host.key')} 2>/dev/null || echo 'no tls key'`,
      'ls /proc | grep -c "^[0-9]"',
    ].join('\n');
    const r = await run(sandboxArgv(spec, ['sh', '-c', script]));
    expect(r.code, r.out).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('host read-only');
    // only what the build was given: its own root, temp, distfiles and key, nothing of others
    expect(lines[1]!.trim().split(' ').sort()).toEqual(['build-tmp', 'distfiles', 'keys', 'roots']);
    expect(lines.slice(2, 4)).toEqual(['no beta key', 'no tls key']);
    expect(Number(lines[4])).toBeLessThan(6); // its own PID namespace: sh, ls, grep and little else
    expect(await readFile(join(spec.rootDir, 'file'), 'utf8')).toBe('built\n');
    expect(await exists('/etc/binhost-sandbox-escape')).toBe(false);
    // the host's own files are untouched; the changes are in the root's layer
    expect(await readFile(join(usr, 'tool'), 'utf8')).toBe('host tool');
    expect(await exists(join(usr, 'new-tool'))).toBe(false);
    expect(await readFile(join(spec.hostLayers[0]!.upper, 'new-tool'), 'utf8')).toBe('layered\n');
    // and the next build of that root sees them again
    const again = await run(sandboxArgv(spec, ['cat', join(usr, 'new-tool')]));
    expect(again.out).toBe('layered\n');
  });

  it("gives the build its own writable /tmp, showing the host's /tmp read-only: make's --output-sync works", async () => {
    const own = join(dir, 'state/build-tmp/alpha/.tmp');
    await mkdir(own, { recursive: true });
    const hostEntry = await mkdtemp(join('/tmp', 'sandbox-host-entry-'));
    await writeFile(join(hostEntry, 'seen'), 'host file\n');
    await writeFile(join(hostEntry, 'Makefile'), 'all: a b\na:\n\t@echo a\nb:\n\t@echo b\n');
    const script = [
      // GNU make <= 4.3 puts --output-sync's temp files in /tmp whatever TMPDIR says
      `GNUMAKEFLAGS=--output-sync=line make -s -j2 -f ${join(hostEntry, 'Makefile')} && echo make-ok`,
      'echo private > /tmp/written && echo tmp-ok',
      `cat ${join(hostEntry, 'seen')}`,
      `(echo x > ${join(hostEntry, 'seen')}) 2>/dev/null || echo 'host tmp read-only'`,
    ].join('\n');
    try {
      const withTmp = { ...spec, tmp: { dir: own, hostEntries: [{ name: hostEntry.slice('/tmp/'.length) }, { name: 'gone-meanwhile' }] } };
      const r = await run(sandboxArgv(withTmp, ['sh', '-c', script]));
      expect(r.code, r.out).toBe(0);
      expect(r.out.trim().split('\n').filter((l) => !/^[ab]$/.test(l))).toEqual(['make-ok', 'tmp-ok', 'host file', 'host tmp read-only']);
      expect(await readFile(join(own, 'written'), 'utf8')).toBe('private\n');
      expect(await exists('/tmp/written')).toBe(false);
      expect(await readFile(join(hostEntry, 'seen'), 'utf8')).toBe('host file\n');
      // without it, /tmp is the host's, read-only, and make cannot sync its output
      const without = await run(sandboxArgv(spec, ['sh', '-c', script]));
      expect(without.out).not.toContain('make-ok');
    } finally {
      await rm(hostEntry, { recursive: true, force: true });
    }
  });

  it('passes a SIGTERM of its process group on to the build, which gets its grace period', async () => {
    const { spawn } = await import('node:child_process');
    const script = `trap 'echo build got TERM; exit 7' TERM; echo started; sleep 300 & wait`;
    const argv = sandboxArgv(spec, ['sh', '-c', script]);
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 100 && !out.includes('started'); i++) await new Promise((r) => setTimeout(r, 20));
    process.kill(-child.pid!, 'SIGTERM'); // what the host does to cancel a build
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(out).toContain('build got TERM');
    expect(code).toBe(7);
  });

  it('leaves nothing running when its process group is killed', async () => {
    const { spawn } = await import('node:child_process');
    // a sleep of its own (other test files run sleeps at the same time)
    const sleep = `sleep 300.${process.pid}${Date.now() % 1000}`;
    const argv = sandboxArgv(spec, ['sh', '-c', `echo started; ${sleep} & wait`]);
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => child.stdout!.once('data', r));
    expect((await run(['pgrep', '-f', sleep])).out.trim()).not.toBe('');
    process.kill(-child.pid!, 'SIGKILL'); // after the grace period, or a killed host's reaper
    await new Promise((r) => child.once('exit', r));
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      gone = (await run(['pgrep', '-f', sleep])).out.trim() === '';
      if (!gone) await new Promise((r) => setTimeout(r, 20));
    }
    expect(gone).toBe(true);
  });

  it('refuses a layer path that overlayfs options cannot spell', () => {
    expect(() => sandboxArgv({ ...spec, hostLayers: [{ path: '/us,r', upper: '/u', work: '/w' }] }, ['true'])).toThrow(SandboxPathError);
  });
});
