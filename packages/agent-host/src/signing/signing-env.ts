import type { SigningKeys } from './signing-keys.js';

/**
 * The Portage settings that make a build sign its packages, passed as environment variables of
 * the emerge process rather than written into the root's make.conf. Portage reads make.conf
 * variables from the environment too, the environment winning (FEATURES is incremental, so
 * `binpkg-signing` is added to the target's FEATURES). The root's /etc/portage then stays
 * exactly the applied target config (its digest and `target config` view are not disturbed,
 * and the next apply cannot drop the signing settings).
 *
 * Returns {} when signing is off.
 */
export async function signingEnv(keys: SigningKeys): Promise<Record<string, string>> {
  if (!keys.enabled) return {};
  const key = await keys.ensure();
  return {
    FEATURES: 'binpkg-signing',
    BINPKG_FORMAT: 'gpkg',
    BINPKG_GPG_SIGNING_GPG_HOME: keys.homeDir,
    BINPKG_GPG_SIGNING_KEY: key.fingerprint,
    BINPKG_GPG_VERIFY_GPG_HOME: keys.verifyHome,
  };
}
