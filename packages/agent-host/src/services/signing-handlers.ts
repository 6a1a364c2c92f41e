import type { SigningKey } from '@binhost/shared';
import type { SigningKeys } from '../signing/signing-keys.js';

/**
 * TargetService.GetSigningKey and AdminService.GetSigningKey: the host's public signing key, so
 * targets can trust it in their Portage keyring. FAILED_PRECONDITION when signing is off.
 */
export async function getSigningKey(keys: SigningKeys): Promise<{ key: SigningKey }> {
  return { key: await keys.ensure() };
}
