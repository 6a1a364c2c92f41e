import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Build, FailedPreconditionError, silentLogger, type DistccConfig } from '@binhost/shared';
import { HostLayout } from '../layout.js';
import { DistccBuilds } from './distcc-builds.js';
import { makeJobs } from './distcc-env.js';

describe('DistccBuilds', () => {
  let dir: string;
  let layout: HostLayout;
  const config = (over: Partial<DistccConfig> = {}): DistccConfig => ({ hosts: ['10.0.0.2:3632/8', 'h3/3'], pump: false, jobs: 0, backoffSeconds: 60, roots: {}, ...over });
  const builds = (c: DistccConfig) => new DistccBuilds({ config: c, layout, configFile: '/etc/binhost/host.toml', cpus: 2, log: silentLogger() });
  const makeConf = async (text: string, file = 'etc/portage/make.conf') => {
    await mkdir(join(layout.rootDir('alpha'), file, '..'), { recursive: true });
    await writeFile(join(layout.rootDir('alpha'), file), text);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-distcc-'));
    layout = new HostLayout(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("turns Portage's FEATURES=distcc on with the root's helpers, -j from their limits, and distcc's dirs in the build temp dir", async () => {
    await makeConf('COMMON_FLAGS="-O2 -march=znver3 -mtune=znver3"\nCFLAGS="${COMMON_FLAGS}"\n');
    const env = await builds(config()).env('alpha');
    const paths = builds(config()).paths('alpha');
    expect(env).toEqual({
      FEATURES: 'distcc',
      DISTCC_HOSTS: '10.0.0.2:3632/8 h3/3',
      MAKEOPTS: '-j13',
      DISTCC_DIR: paths.dir,
      DISTCC_LOG: paths.log,
      DISTCC_BACKOFF_PERIOD: '60',
      DISTCC_FALLBACK: '1',
    });
    expect(paths.dir.startsWith(layout.buildTmpDir('alpha') + '/')).toBe(true);
    expect((await stat(paths.dir)).isDirectory()).toBe(true);
  });

  it('with distcc off for the root, turns a FEATURES=distcc from the target off', async () => {
    expect(await builds(config({ roots: { alpha: { enabled: false } } })).env('alpha')).toEqual({ FEATURES: '-distcc' });
    expect(await builds(config({ hosts: [] })).env('alpha')).toEqual({ FEATURES: '-distcc' });
  });

  it('refuses, before emerge, flags each machine resolves for itself, naming file, line and variable', async () => {
    await makeConf('COMMON_FLAGS="-O2 -pipe"\nCFLAGS="${COMMON_FLAGS} -mtune=native"\n');
    await makeConf('CXXFLAGS="-O3 -mcpu=native"\n', 'etc/portage/env/fast.conf');
    const err = (await builds(config()).env('alpha').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err.message).toContain('etc/portage/make.conf:2 CFLAGS has -mtune=native');
    expect(err.message).toContain('etc/portage/env/fast.conf:1 CXXFLAGS has -mcpu=native');
    expect(err.message).toContain('[distcc.roots.alpha] enabled = false in /etc/binhost/host.toml');
    // the same config builds without distcc
    expect(await builds(config({ hosts: [] })).env('alpha')).toEqual({ FEATURES: '-distcc' });
  });

  it('derives -j: the limits (distcc defaults 4, localhost 2) plus local CPUs, unless localhost is a helper or jobs is set', () => {
    const s = { pump: false, jobs: 0, backoffSeconds: 60 };
    expect(makeJobs({ ...s, hosts: ['a', 'b/6'] }, 2)).toBe(12);
    expect(makeJobs({ ...s, hosts: ['localhost', 'b/6', '--randomize'] }, 2)).toBe(8);
    expect(makeJobs({ ...s, hosts: ['a'], jobs: 3 }, 2)).toBe(3);
  });

  it('pump mode adds ,cpp,lzo to remote helpers and runs emerge under pump', async () => {
    await makeConf('CFLAGS="-O2"\n');
    const b = new DistccBuilds({ config: config({ pump: true, hosts: ['localhost/2', 'a/4', 'b/4,lzo'] }), layout, configFile: 'x', cpus: 2, pump: 'sh', log: silentLogger() });
    expect((await b.env('alpha'))['DISTCC_HOSTS']).toBe('localhost/2 a/4,cpp,lzo b/4,lzo,cpp');
    expect(await b.wrap('alpha', ['emerge', '-1', 'x'])).toEqual(['sh', 'emerge', '-1', 'x']);
  });

  it("summarizes distcc's log into the build record and one log line, only for builds that ran with distcc", async () => {
    await makeConf('CFLAGS="-O2"\n');
    const b = builds(config());
    const lines: string[] = [];
    const build = Build.fromPartial({ id: 1, root: 'alpha' });
    b.started('alpha');
    await b.env('alpha');
    await writeFile(b.paths('alpha').log, 'distcc[1] compile from a.c to a.o\ndistcc[1] compile a.c on 10.0.0.2:3632/8 completed ok\n');
    await b.afterEmerge(build, { write: (l: string) => lines.push(l) } as never);
    expect(build.distcc).toMatchObject({ hosts: '10.0.0.2:3632/8 h3/3', makeJobs: 13, helpers: [{ host: '10.0.0.2:3632', jobs: 1 }], localJobs: 0 });
    expect(lines).toEqual(['>>> binhost: distcc: 1 compile job: 1 on 10.0.0.2:3632, 0 here']);
    const other = Build.fromPartial({ id: 2, root: 'alpha' });
    await b.afterEmerge(other, { write: (l: string) => lines.push(l) } as never);
    expect(other.distcc).toBeUndefined();
  });
});
