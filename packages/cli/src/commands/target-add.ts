import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { AddTargetResponse, callClientStream, InstallPolicy, UsageError, type AddTargetRequest } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

const USAGE = 'usage: binhostctl target add NAME --stage3 FILE|URL [--sha256 HEX] [--policy auto|confirm|off]';

/** Bytes per upload message: well under the 4 MiB gRPC default, big enough to stream quickly. */
export const CHUNK_BYTES = 1024 * 1024;

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
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { stage3: { type: 'string' }, sha256: { type: 'string' }, policy: { type: 'string' } },
  });
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0 || !values.stage3) throw new UsageError(USAGE);
  const policy = values.policy === undefined ? InstallPolicy.INSTALL_POLICY_UNSPECIFIED : POLICIES[values.policy];
  if (policy === undefined) throw new UsageError(`--policy must be auto, confirm or off\n${USAGE}`);
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(values.stage3);
  const client = await ctx.admin();
  const call = callClientStream<AddTargetRequest, AddTargetResponse>(client.addTarget.bind(client), { deadlineMs: DEADLINE_MS });
  const header = { name, sha256: values.sha256 ?? '', url: isUrl ? values.stage3 : '', fileName: isUrl ? '' : basename(values.stage3), installPolicy: policy };
  try {
    // Open the file before talking to the host, so a typo fails here with the path.
    const fh = isUrl ? undefined : await open(values.stage3, 'r');
    try {
      await call.write({ part: { $case: 'header', value: header } });
      if (fh) {
        for await (const chunk of fh.createReadStream({ highWaterMark: CHUNK_BYTES, autoClose: false }) as AsyncIterable<Buffer>) {
          await call.write({ part: { $case: 'chunk', value: chunk } });
        }
      }
    } finally {
      await fh?.close();
    }
  } catch (err) {
    call.cancel();
    throw err;
  }
  const res = await call.finish();
  if (ctx.json) {
    printJson(ctx.stdout, AddTargetResponse.toJSON(res));
    return 0;
  }
  ctx.stdout.write(`target ${name}: root ${res.rootPath} created (${res.entriesExtracted} entries)\n`);
  for (const d of res.disabledBinhosts) ctx.stdout.write(`disabled the stage3's binhost ${d}\n`);
  return 0;
}
