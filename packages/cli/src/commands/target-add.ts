import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { callClientStream, InstallPolicy, UsageError, type AddTargetRequest, type AddTargetResponse } from '@binhost/shared';
import { optString, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { addView } from '../view.js';
import { readUserFile } from '../file-errors.js';

/** Bytes per upload message: well under the 4 MiB gRPC default, big enough to stream quickly. */
const CHUNK_BYTES = 1024 * 1024;

/** Creating a root extracts a whole stage3: allow it time. @default 30 min */
const DEADLINE_MS = 30 * 60_000;

const POLICIES: Record<string, InstallPolicy> = {
  auto: InstallPolicy.INSTALL_POLICY_AUTO,
  confirm: InstallPolicy.INSTALL_POLICY_CONFIRM,
  off: InstallPolicy.INSTALL_POLICY_OFF,
};

/**
 * `binhostctl target add NAME --stage3 FILE|URL [--sha256 HEX]`: creates the target's root on
 * the host. A local file is streamed to the host in chunks; an https URL is fetched by the host.
 */
export const spec: CliCommand = {
  name: 'target add',
  summary: "create a target's root on the host from a stage3 (a local file or an https URL)",
  description:
    'A local file is streamed to the host; an https:// URL is fetched by the host itself. The\n' +
    "SHA-256 is checked first; the stage3's own binhost is disabled in the new root.",
  args: [{ name: 'NAME', description: 'the target (its certificate name)' }],
  options: [
    { flags: '--stage3 <FILE|URL>', description: 'the stage3 tarball', file: true, required: true },
    { flags: '--sha256 <HEX>', description: 'expected SHA-256 of the stage3' },
    { flags: '--policy <POLICY>', description: 'install policy override for NAME', choices: ['auto', 'confirm', 'off'] },
  ],
  json: '{version, name, rootPath, entriesExtracted, disabledBinhosts}',
  examples: ['target add alpha --stage3 stage3-amd64-openrc-20261201T170000Z.tar.xz', 'target add alpha --stage3 https://distfiles.gentoo.org/…/stage3.tar.xz --sha256 HEX'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const name = input.args[0]!;
  const stage3 = optString(input, 'stage3');
  if (!stage3) throw new UsageError('--stage3 FILE|URL is required');
  const policyWord = optString(input, 'policy');
  const policy = policyWord === undefined ? InstallPolicy.INSTALL_POLICY_UNSPECIFIED : (POLICIES[policyWord] ?? InstallPolicy.INSTALL_POLICY_UNSPECIFIED);
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(stage3);
  // Open the file before talking to the host, so a typo fails here with the option and the path.
  const fh = isUrl ? undefined : await readUserFile(`--stage3 ${stage3}`, () => open(stage3, 'r'));
  const header = { name, sha256: optString(input, 'sha256') ?? '', url: isUrl ? stage3 : '', fileName: isUrl ? '' : basename(stage3), installPolicy: policy };
  let call: ReturnType<typeof callClientStream<AddTargetRequest, AddTargetResponse>> | undefined;
  try {
    const client = await ctx.admin();
    call = callClientStream<AddTargetRequest, AddTargetResponse>(client.addTarget.bind(client), { deadlineMs: DEADLINE_MS });
    await call.write({ part: { $case: 'header', value: header } });
    if (fh) {
      for await (const chunk of fh.createReadStream({ highWaterMark: CHUNK_BYTES, autoClose: false }) as AsyncIterable<Buffer>) {
        await call.write({ part: { $case: 'chunk', value: chunk } });
      }
    }
  } catch (err) {
    call?.cancel();
    throw err;
  } finally {
    await fh?.close();
  }
  const res = await call.finish();
  if (ctx.json) {
    printJson(ctx.stdout, addView(name, res));
    return 0;
  }
  ctx.stdout.write(`target ${name}: root ${res.rootPath} created (${res.entriesExtracted} entries)\n`);
  for (const d of res.disabledBinhosts) ctx.stdout.write(`disabled the stage3's binhost ${d}\n`);
  return 0;
}
