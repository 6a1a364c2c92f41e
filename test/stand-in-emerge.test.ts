import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { indexValue, parsePackagesIndex } from '@binhost/shared';
import { tmpTree } from './helpers/tmp-tree.js';
import { makePortageRoot, runEmerge } from './helpers/emerge-stand-in.js';
import { serveDirectory, type StaticServer } from './helpers/static-server.js';

const MAKE_CONF = 'COMMON_FLAGS="-O2 -pipe -march=x86-64-v3"\nCFLAGS="${COMMON_FLAGS}"\nCXXFLAGS="${COMMON_FLAGS}"\n';

describe('stand-in emerge', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let server: StaticServer | undefined;

  beforeEach(async () => {
    tmp = await tmpTree('stand-in-emerge-');
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await tmp.cleanup();
  });

  it('builds with --buildpkg and installs with --getbinpkgonly over HTTP, CFLAGS from make.conf in /var/db/pkg', async () => {
    const host = await makePortageRoot(join(tmp.dir, 'binhost'), { makeConf: MAKE_CONF });
    const built = await runEmerge(host, ['--buildpkg', '--root-deps', 'app-misc/hello-user', 'app-misc/greet']);
    expect(built.output).toContain(`>>> Emerging (1 of 3) app-misc/hello-1.0::gentoo for ${host}`);
    expect(built.code).toBe(0);
    const pkgdir = join(host, 'var/cache/binpkgs');
    const index = parsePackagesIndex(await readFile(join(pkgdir, 'Packages'), 'utf8'));
    expect(index.packages.map((p) => indexValue(p, 'CPV'))).toEqual(['app-misc/greet-1.0', 'app-misc/hello-1.0', 'app-misc/hello-user-1.0']);

    server = await serveDirectory(pkgdir);
    const target = await makePortageRoot(join(tmp.dir, 'target'), {
      makeConf: MAKE_CONF,
      binreposConf: `[binhost]\nsync-uri = ${server.url}\npriority = 10\nverify-signature = false\n`,
    });
    const installedRun = await runEmerge(target, ['--getbinpkgonly', '--binpkg-respect-use=y', '--binpkg-changed-deps=y', 'app-misc/hello-user', 'app-misc/greet']);
    expect(installedRun.code).toBe(0);
    expect(installedRun.output).toContain(' * hello-1.0-1.gpkg.tar MD5 SHA1 size ;-) ...                            [ ok ]');
    expect(await readFile(join(target, 'var/db/pkg/app-misc/hello-1.0/CFLAGS'), 'utf8')).toBe('-O2 -pipe -march=x86-64-v3\n');
    expect(server.requests).toContain('/app-misc/hello/hello-1.0-1.gpkg.tar');
  });
});
