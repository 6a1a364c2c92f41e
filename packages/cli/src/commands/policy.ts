import { callUnary, InstallPolicy } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

const POLICIES: Record<string, InstallPolicy> = {
  auto: InstallPolicy.INSTALL_POLICY_AUTO,
  confirm: InstallPolicy.INSTALL_POLICY_CONFIRM,
  off: InstallPolicy.INSTALL_POLICY_OFF,
  default: InstallPolicy.INSTALL_POLICY_UNSPECIFIED,
};

/** `binhostctl policy NAME auto|confirm|off|default`: the host-side install policy override. */
export const spec: CliCommand = {
  name: 'policy',
  summary: "set the target's install policy on the host (default: the target's own install.policy)",
  description:
    'auto installs when the plan is binary packages only; confirm waits for "sync NAME --yes";\n' +
    "off installs only when an admin asks (sync --yes, emerge). default clears the override.",
  args: [
    { name: 'NAME', description: 'the target' },
    { name: 'POLICY', description: 'auto, confirm, off or default', choices: Object.keys(POLICIES) },
  ],
  json: '{version, target, installPolicy}',
  examples: ['policy alpha confirm', 'policy alpha default'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const [name, policy] = input.args as [string, string];
  const client = await ctx.admin();
  await callUnary(client.setInstallPolicy.bind(client), { name, policy: POLICIES[policy]! });
  if (ctx.json) printJson(ctx.stdout, { target: name, installPolicy: policy });
  else ctx.stdout.write(policy === 'default' ? `${name}: install policy from the target's own config\n` : `${name}: install policy ${policy}\n`);
  return 0;
}
