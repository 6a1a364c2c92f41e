import type { SigningKey } from '@binhost/shared';
import type { RootSigningKeys } from '../signing/root-signing-keys.js';

/**
 * TargetService.GetSigningKey and AdminService.GetSigningKey: the public signing key of the root
 * a target builds in, so the target trusts exactly that key in its Portage keyring.
 * FAILED_PRECONDITION when signing is off.
 */
export async function getSigningKey(keys: RootSigningKeys, root: string): Promise<{ key: SigningKey }> {
  return { key: await keys.of(root).ensure() };
}
