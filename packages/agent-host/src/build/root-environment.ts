import { chmod, lstat, mkdir, readdir, readlink, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FailedPreconditionError, findProgram, type HostConfig } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import type { RootSigningKeys } from '../signing/root-signing-keys.js';
import { signingEnv } from '../signing/signing-env.js';
import type { DistccBuilds } from '../distcc/distcc-builds.js';
import { sandboxArgv, type SandboxSpec, type TmpEntry } from './build-sandbox.js';

/** What {@link RootEnvironment} is made from. */
export interface RootEnvironmentOptions {
  config: HostConfig;
  layout: HostLayout;
  signing: RootSigningKeys;
  distcc: DistccBuilds;
}

/**
 * What every Portage command run for a root (builds, `emaint binhost --fix`) gets: its environment
 * and its sandbox. Written once, so that the retention's index repair runs exactly as confined as
 * a build.
 */
export class RootEnvironment {
  constructor(private readonly options: RootEnvironmentOptions) {}

  /**
   * What a command in `root` gets on top of the scrubbed environment: the signing settings and the
   * root's own PORTAGE_TMPDIR and DISTDIR (the target's are scrubbed from its make.conf; without
   * them Portage would use the host's /var/tmp/portage and /var/cache/distfiles), and distcc's
   * (distcc/distcc-builds.ts: FEATURES=distcc with the root's helpers, or -distcc).
   */
  async env(root: string): Promise<Record<string, string>> {
    const { layout, signing, distcc } = this.options;
    const dirs = { PORTAGE_TMPDIR: layout.buildTmpDir(root), DISTDIR: layout.distDir(root) };
    for (const dir of [...Object.values(dirs), layout.observabilityDir(root)]) await mkdir(dir, { recursive: true, mode: 0o755 });
    const signed = await signingEnv(signing.of(root));
    const distccEnv = await distcc.env(root);
    // Portage (≥ 3.0.82) publishes its progress on a socket the host follows (observability.ts).
    // FEATURES is incremental in Portage: the signing, observability and distcc words all apply
    // on top of make.conf's. TMPDIR too: the sandbox's /tmp is the host's, read-only.
    const features = [signed.FEATURES, 'observability', distccEnv['FEATURES']].filter(Boolean).join(' ');
    return { ...signed, ...dirs, ...distccEnv, TMPDIR: dirs.PORTAGE_TMPDIR, FEATURES: features };
  }

  /**
   * `argv` in the root's build sandbox (build-sandbox.ts), unless `build.sandbox = false`. An
   * emerge program that does not exist is left to fail as it is (the build then says so, naming
   * build.emerge); a missing bwrap fails the build naming the package to install.
   */
  async wrap(root: string, plain: string[]): Promise<string[]> {
    const { config, layout, signing, distcc } = this.options;
    if (!(await findProgram(plain[0] ?? ''))) return plain;
    const argv = await distcc.wrap(root, plain);
    if (!config.build.sandbox) return argv;
    if (!(await findProgram(config.build.bwrap))) {
      throw new FailedPreconditionError(
        `build sandbox: "${config.build.bwrap}" not found (install sys-apps/bubblewrap, Debian: bubblewrap; or set build.sandbox = false in ${config.configFile}, which lets every target's config run unconfined as root)`,
      );
    }
    const hostLayers = [];
    for (const path of config.build.hostWritable) {
      // absent, or a merged-usr symlink (/lib → usr/lib) that its target's layer covers
      if (!(await lstat(path).catch(() => undefined))?.isDirectory()) continue;
      const name = path.slice(1).replace(/\//g, '_') || 'root';
      hostLayers.push({ path, upper: join(layout.layersDir(root), name, 'upper'), work: join(layout.layersDir(root), name, 'work') });
    }
    const { stateDir } = layout;
    const private_ = [dirname(config.configFile), dirname(config.tls.key), dirname(config.tls.cert)].filter((d) => d !== '/' && !stateDir.startsWith(`${d}/`));
    const keys = signing.of(root);
    const spec: SandboxSpec = {
      rootDir: layout.rootDir(root),
      tmpDir: layout.buildTmpDir(root),
      distDir: layout.distDir(root),
      hostLayers,
      hidden: [...new Set([stateDir, ...private_])],
      readOnly: signing.enabled ? [keys.verifyHome] : [],
      writable: signing.enabled ? [keys.homeDir] : [],
      bwrap: config.build.bwrap,
      runPortage: layout.observabilityDir(root),
      tmp: { dir: await freshDir(layout.sandboxTmpDir(root)), hostEntries: await hostTmpEntries() },
    };
    return sandboxArgv(spec, argv);
  }
}

/** `dir`, emptied: what one build left in its /tmp is not the next one's. */
async function freshDir(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o1777); // as /tmp is: Portage's phases that drop to the portage user write it too
  return dir;
}

/** What the host's /tmp holds now, for the build's /tmp (build-sandbox.ts `SandboxSpec.tmp`). */
async function hostTmpEntries(): Promise<TmpEntry[]> {
  const entries = await readdir('/tmp', { withFileTypes: true }).catch(() => []);
  const shown: TmpEntry[] = [];
  for (const e of entries) {
    if (!e.isSymbolicLink()) shown.push({ name: e.name });
    else {
      const link = await readlink(join('/tmp', e.name)).catch(() => undefined);
      if (link !== undefined) shown.push({ name: e.name, link });
    }
  }
  return shown;
}
