import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { once } from 'node:events';
import {
  assertValidName,
  errorMessage,
  InstallPolicy,
  InvalidArgumentError,
  type AddTargetHeader,
  type AddTargetRequest,
  type AddTargetResponse,
  type CallContext,
  type TargetState,
  type TargetSummary,
} from '@binhost/shared';
import type { TargetRegistry } from '../registry/target-registry.js';
import type { HostLayout } from '../layout.js';
import type { RootManager } from '../root/root-manager.js';
import { DamagedRecordError } from '../registry/damaged-records.js';

/** What AddTarget needs from the host. */
export interface AddTargetDeps {
  registry: TargetRegistry;
  roots: RootManager;
  layout: HostLayout;
  summarize(name: string): TargetSummary;
  /**
   * Requests the automatic build for a target that reported before its root existed (the state
   * event that would have started it came and went). @default none
   */
  requestBuild?: (target: string, state: TargetState) => Promise<unknown>;
}

/** Largest stage3 accepted by upload (current amd64 stage3s are about 300 MB). @default 8 GiB */
const MAX_STAGE3_BYTES = 8 * 1024 ** 3;

const POLICY_NAMES: Partial<Record<InstallPolicy, string>> = {
  [InstallPolicy.INSTALL_POLICY_AUTO]: 'auto',
  [InstallPolicy.INSTALL_POLICY_CONFIRM]: 'confirm',
  [InstallPolicy.INSTALL_POLICY_OFF]: 'off',
};

/** Writes the uploaded chunks that follow the header to `file`, bounded by {@link MAX_STAGE3_BYTES}. */
async function spool(requests: AsyncIterator<AddTargetRequest>, file: string): Promise<number> {
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  let total = 0;
  try {
    for (let next = await requests.next(); !next.done; next = await requests.next()) {
      const part = next.value.part;
      if (part?.$case !== 'chunk') throw new InvalidArgumentError('AddTarget: only chunks may follow the header');
      total += part.value.length;
      if (total > MAX_STAGE3_BYTES) throw new InvalidArgumentError(`stage3 upload larger than ${MAX_STAGE3_BYTES} bytes`);
      if (!out.write(part.value)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return total;
}

/**
 * AddTarget: a header (name, sha256, url or file name), then the stage3 in chunks unless a URL
 * was given. Creates the target's root (named after the target), records it in the registry
 * and, when the target has already reported a state, applies it to the new root.
 */
export async function addTarget(deps: AddTargetDeps, requests: AsyncIterable<AddTargetRequest>, ctx: CallContext): Promise<AddTargetResponse> {
  const it = requests[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.part?.$case !== 'header') throw new InvalidArgumentError('AddTarget: the first message must be the header');
  const header: AddTargetHeader = first.value.part.value;
  assertValidName(header.name, 'target name');
  // Not ctx.signal: grpc-js emits 'close' on a server readable stream once the client has sent
  // its last chunk, and the adapter (grpc/handlers.ts) aborts the signal on 'close'.
  const opts = { sha256: header.sha256 || undefined };
  let created;
  if (header.url) {
    const extra = await it.next();
    if (!extra.done) throw new InvalidArgumentError('AddTarget: a URL was given, chunks are not expected');
    created = await deps.roots.create(header.name, { url: header.url }, opts);
  } else {
    await mkdir(deps.layout.rootsDir(), { recursive: true, mode: 0o755 });
    const file = join(deps.layout.rootsDir(), `.upload-${header.name}-${randomBytes(6).toString('hex')}`);
    try {
      const size = await spool(it, file);
      if (size === 0) throw new InvalidArgumentError('AddTarget: no stage3 given (neither a URL nor chunks)');
      created = await deps.roots.create(header.name, { file }, opts);
    } finally {
      await rm(file, { force: true });
    }
  }
  await deps.registry.update(header.name, (r) => {
    r.root = header.name;
    const policy = POLICY_NAMES[header.installPolicy];
    if (policy) r.installPolicy = policy;
  });
  ctx.log.info({ target: header.name, entries: created.entriesExtracted, disabled: created.disabledBinhosts }, 'target added');
  // AddTargetResponse has no field for these (skipped device nodes, xattrs not restored): log them.
  if (created.warnings.length > 0) ctx.log.warn({ target: header.name, warnings: created.warnings }, 'stage3 extracted with warnings');
  await applyExistingState(deps, header.name, ctx);
  return {
    target: deps.summarize(header.name),
    rootPath: created.rootPath,
    entriesExtracted: created.entriesExtracted,
    disabledBinhosts: created.disabledBinhosts,
  };
}

/** A target that reported before its root existed gets its config applied, and its build requested, now. */
async function applyExistingState(deps: AddTargetDeps, name: string, ctx: CallContext): Promise<void> {
  // a damaged state (marked, shown by status) is replaced by the target's next report, which applies it
  const state = await deps.registry.store.readState(name).catch((err: unknown) => {
    if (err instanceof DamagedRecordError) return undefined;
    throw err;
  });
  if (!state) return;
  try {
    // Applied here too, not only by the build's prepare step, so `target config` shows it at once.
    await deps.roots.apply(name, state);
  } catch (err) {
    ctx.log.warn({ err, target: name }, 'applying the reported state to the new root failed');
    await deps.registry.update(name, (r) => (r.lastError = `apply: ${errorMessage(err)}`));
    return;
  }
  // The refusal recorded while the root did not exist is over: the first build is on its way.
  await deps.registry.update(name, (r) => (r.lastError = ''));
  await deps.requestBuild?.(name, state);
}
