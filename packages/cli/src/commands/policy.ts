import { parseArgs } from 'node:util';
import { callUnary, InstallPolicy, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';

const POLICIES: Record<string, InstallPolicy> = {
  auto: InstallPolicy.INSTALL_POLICY_AUTO,
  confirm: InstallPolicy.INSTALL_POLICY_CONFIRM,
  off: InstallPolicy.INSTALL_POLICY_OFF,
  default: InstallPolicy.INSTALL_POLICY_UNSPECIFIED,
};

/** `binhostctl policy NAME auto|confirm|off|default`: the host-side install policy override. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const [name, policy, ...extra] = positionals;
  const value = policy === undefined ? undefined : POLICIES[policy];
  if (!name || value === undefined || extra.length) throw new UsageError('usage: binhostctl policy NAME auto|confirm|off|default');
  const client = await ctx.admin();
  await callUnary(client.setInstallPolicy.bind(client), { name, policy: value });
  ctx.stdout.write(policy === 'default' ? `${name}: install policy from the target's own config\n` : `${name}: install policy ${policy}\n`);
  return 0;
}
