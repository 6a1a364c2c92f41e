import { beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { xzSync } from './helpers/xz.js';
import { dispatch } from '@binhost/cli';
import { callClientStream, FileKind, stateDigest, TargetState, type AddTargetRequest, type AddTargetResponse, type FileEntry } from '@binhost/shared';
import { status } from '@grpc/grpc-js';
import { clientsFor } from './helpers/clients.js';
import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import { buildTar, sha256Hex, syntheticStage3 } from './helpers/tar-builder.js';

const PROFILE = 'default/linux/amd64/23.0';
const cc1 = readFileSync(fileURLToPath(new URL('./fixtures/portage/gcc-march-native-cc1-mtune.txt', import.meta.url)), 'utf8');

/** Collects what a command prints. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** A state as a target with -march=native in make.conf would report it. */
function reportedState(): TargetState {
  const entry = (path: string, content: string): FileEntry => ({ path, kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(content), linkTarget: '' });
  const files = [
    entry('etc/portage/make.conf', 'COMMON_FLAGS="-march=native -O2 -pipe"\nCFLAGS="${COMMON_FLAGS}"\nFEATURES="getbinpkg"\n'),
    { path: 'etc/portage/make.profile', kind: FileKind.FILE_KIND_SYMLINK, mode: 0o777, content: Buffer.alloc(0), linkTarget: `../../var/db/repos/gentoo/profiles/${PROFILE}` },
    entry('var/lib/portage/world', 'app-editors/vim\n'),
  ];
  const line = cc1.split('\n').find((l) => /^\s*\S*\/cc1\s/.test(l))!;
  const words = line.trim().split(/\s+/);
  return TargetState.fromPartial({
    digest: stateDigest(files),
    files,
    profile: PROFILE,
    nativeFlags: {
      known: true,
      march: 'znver3',
      mtune: 'znver3',
      featureFlags: words.filter((w) => /^-m(no-)?[a-z0-9]/.test(w) && !/^-m(arch|tune)=/.test(w)),
      params: [],
      compiler: 'gcc',
    },
    cpuFlagsX86: ['aes', 'avx2'],
  });
}

describe('binhostctl target add / target config', () => {
  const h = useHarness({ prefix: 'binhost-roots-cli-' });
  let host: StartedHost;
  let adminConfig: string;

  beforeEach(async () => {
    const repo = join(h.dir, 'repo');
    await mkdir(join(repo, 'profiles', PROFILE), { recursive: true });
    host = await h.startHost({ extra: `[build]\nrepository = ${JSON.stringify(repo)}\n` });
    const tls = await h.pki.files('admin', 'root');
    adminConfig = join(h.dir, 'admin.toml');
    await writeFile(
      adminConfig,
      `host = "127.0.0.1:${host.port}"\nserver_name = "${TEST_SERVER_NAME}"\n[tls]\nca = ${JSON.stringify(tls.ca)}\ncert = ${JSON.stringify(tls.cert)}\nkey = ${JSON.stringify(tls.key)}\n`,
    );
  });

  const cli = async (...argv: string[]) => {
    const out = sink();
    const err = sink();
    const code = await dispatch([`--config=${adminConfig}`, ...argv], { stdout: out.stream, stderr: err.stream });
    return { code, stdout: out.text(), stderr: err.text() };
  };

  it('uploads a stage3 over mTLS, creates the root, applies the reported state and shows it', async () => {
    // The target reported before it had a root.
    await host.daemon.registry.acceptState('alpha', reportedState());
    const data = xzSync(buildTar(syntheticStage3()));
    const stage3 = join(h.dir, 'stage3-amd64-openrc.tar.xz');
    await writeFile(stage3, data);

    const add = await cli('target', 'add', 'alpha', '--stage3', stage3, '--sha256', sha256Hex(data));
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const rootPath = join(host.stateDir, 'roots', 'alpha');
    expect(add.stdout).toContain(`target alpha: root ${rootPath} created (22 entries)`);
    expect(add.stdout).toContain('disabled the stage3\'s binhost etc/portage/binrepos.conf/gentoobinhost.conf');
    expect(host.daemon.registry.get('alpha').root).toBe('alpha');
    expect(await readlink(join(rootPath, 'etc/mtab'))).toBe('/proc/self/mounts');
    expect(await readFile(join(rootPath, 'var/lib/portage/world'), 'utf8')).toBe('app-editors/vim\n');

    // as written into the root: every flag -march=native resolved to
    const full = await cli('target', 'config', 'alpha', '--verbose');
    expect(full.code).toBe(0);
    expect(full.stdout).toContain('# binhost: was COMMON_FLAGS="-march=native -O2 -pipe"\nCOMMON_FLAGS="-march=znver3 -mmmx');
    expect(full.stdout).toContain('# binhost: was FEATURES="getbinpkg"\nFEATURES=""');
    expect(full.stdout).toMatch(/#   etc\/portage\/make\.conf: COMMON_FLAGS: "-march=native -O2 -pipe" -> "-march=znver3 .*-mtune=znver3 -O2 -pipe" \(/);
    // as an admin would write it: -march=znver3 and only what the host's gcc does not imply for it
    const shown = await cli('target', 'config', 'alpha');
    expect(shown.code).toBe(0);
    const written = /^COMMON_FLAGS="(-march=znver3[^"]*) -O2 -pipe"$/m.exec(shown.stdout)?.[1];
    expect(written, shown.stdout).toBeDefined();
    expect(written!.length).toBeLessThan(full.stdout.length / 4);
    expect(written).not.toContain('-mmmx');
    expect(shown.stdout).toMatch(/^# -march=znver3 stands for the target's whole -march=native: the \d+ -m flags that gcc implies$/m);
    expect(shown.stdout).toContain(`COMMON_FLAGS: "-march=native -O2 -pipe" -> "${written} -O2 -pipe" (`);

    const json = await cli('--json', 'target', 'config', 'alpha');
    const doc = JSON.parse(json.stdout) as { applied: { root: string; rewrites: Array<{ key: string }>; digest: string }; march: { flags: string } };
    expect(doc.march.flags).toBe(written);
    const parsed = doc.applied;
    expect(parsed.root).toBe('alpha');
    expect(parsed.digest).toBe(reportedState().digest);
    expect(parsed.rewrites.map((r) => r.key)).toEqual(['COMMON_FLAGS', 'FEATURES', 'CPU_FLAGS_X86']);
  });

  it('refuses a stage3 with a ../ entry and leaves nothing on the host', async () => {
    const stage3 = join(h.dir, 'evil.tar');
    await writeFile(stage3, buildTar([{ path: './', type: 'dir' }, { path: './etc/../../../pwned', content: 'x' }]));
    const add = await cli('target', 'add', 'evil', '--stage3', stage3);
    expect(add.code).toBe(1);
    expect(add.stderr).toContain('stage3 entry "./etc/../../../pwned" refused: path has a ".." segment');
    expect(await readdir(join(host.stateDir, 'roots'))).toEqual([]);
    expect(host.daemon.registry.has('evil')).toBe(false);
  });

  it.each([
    ['a chunk before the header', [{ part: { $case: 'chunk', value: Buffer.from('x') } }], /first message must be the header/],
    ['chunks after a URL', [{ part: { $case: 'header', value: { name: 'u', sha256: '', url: 'https://x.example/s.tar', fileName: '', installPolicy: 0 } } }, { part: { $case: 'chunk', value: Buffer.from('x') } }], /chunks are not expected/],
    ['a header alone', [{ part: { $case: 'header', value: { name: 'u', sha256: '', url: '', fileName: 's.tar', installPolicy: 0 } } }], /no stage3 given/],
    ['a bad name', [{ part: { $case: 'header', value: { name: '../u', sha256: '', url: '', fileName: 's.tar', installPolicy: 0 } } }], /target name/],
  ] as Array<[string, AddTargetRequest[], RegExp]>)('refuses an AddTarget stream with %s', async (_what, messages, message) => {
    const c = await clientsFor(h.pki, host.address, 'admin', 'root');
    try {
      const call = callClientStream<AddTargetRequest, AddTargetResponse>(c.admin.addTarget.bind(c.admin));
      for (const m of messages) await call.write(m);
      const err = (await call.finish().catch((e: unknown) => e)) as { code: number; details: string };
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
      expect(await readdir(join(host.stateDir, 'roots')).catch(() => [])).toEqual([]);
    } finally {
      c.close();
    }
  });

  it('refuses a sha256 mismatch and reports no applied config for an unknown root', async () => {
    const stage3 = join(h.dir, 'stage3.tar');
    await writeFile(stage3, buildTar(syntheticStage3()));
    const add = await cli('target', 'add', 'beta', '--stage3', stage3, '--sha256', '0'.repeat(64));
    expect(add.code).toBe(1);
    expect(add.stderr).toContain(`stage3 sha256 mismatch: expected ${'0'.repeat(64)}`);
    await host.daemon.registry.update('gamma', () => undefined);
    const shown = await cli('target', 'config', 'gamma');
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain('target gamma has no applied config yet');
  });
});
