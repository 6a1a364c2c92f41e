import {
  FailedPreconditionError,
  FileChange,
  FileKind,
  InvalidArgumentError,
  NotFoundError,
  type DiffTargetRequest,
  type DiffTargetResponse,
  type FileDiff,
  type FileEntry,
  type NativeFlags,
  type TargetState,
} from '@binhost/shared';
import type { TargetRegistry } from '../registry/target-registry.js';
import { unifiedDiff } from '../diff/line-diff.js';

/** What DiffTarget needs from the host. */
export interface DiffTargetDeps {
  registry: TargetRegistry;
}

/**
 * AdminService.DiffTarget: what changed on a target between two reported states of its history —
 * files added, removed and modified (with a unified diff for text), world atoms, the resolved
 * flags, CPU_FLAGS_X86 and the profile. `from`/`to` are digests of the history, full or any unique
 * prefix of their hex (as `binhostctl target show` prints them); empty `to` is the latest, empty
 * `from` the one before `to` (or an empty state when `to` is the first).
 */
export async function diffTarget(deps: DiffTargetDeps, req: DiffTargetRequest): Promise<DiffTargetResponse> {
  const { registry } = deps;
  if (!registry.has(req.name)) throw new NotFoundError(`no target named "${req.name}"`);
  const history = (await registry.store.readHistory(req.name)).map((h) => h.digest);
  if (history.length === 0) throw new FailedPreconditionError(`target "${req.name}" has not reported a state yet`);
  const to = req.toDigest ? resolveDigest(req.name, history, req.toDigest) : history[history.length - 1]!;
  const from = req.fromDigest ? resolveDigest(req.name, history, req.fromDigest) : (history[history.lastIndexOf(to) - 1] ?? '');
  const [before, after] = await Promise.all([from ? readState(deps, req.name, from) : undefined, readState(deps, req.name, to)]);
  const world = listDiff(worldAtoms(before), worldAtoms(after));
  const flags = listDiff(flagList(before?.nativeFlags), flagList(after.nativeFlags));
  const cpu = listDiff(before?.cpuFlagsX86 ?? [], after.cpuFlagsX86);
  return {
    fromDigest: from,
    toDigest: to,
    files: fileDiffs(before?.files ?? [], after.files),
    worldAdded: world.added,
    worldRemoved: world.removed,
    flagsAdded: flags.added,
    flagsRemoved: flags.removed,
    cpuFlagsAdded: cpu.added,
    cpuFlagsRemoved: cpu.removed,
    profileBefore: before?.profile ?? '',
    profileAfter: after.profile,
  };
}

/** Finds a digest of the history by its full form, its hex, or a unique prefix of its hex. */
function resolveDigest(name: string, history: readonly string[], given: string): string {
  const hex = given.replace(/^sha256:/, '').toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(hex)) throw new InvalidArgumentError(`"${given}" is not a digest (sha256:HEX, or at least 4 hex digits of one)`);
  const matches = [...new Set(history.filter((d) => d.slice('sha256:'.length).startsWith(hex)))];
  if (matches.length === 0) throw new NotFoundError(`digest ${given} is not in the history of target "${name}"`);
  if (matches.length > 1) throw new InvalidArgumentError(`digest prefix ${given} is ambiguous in the history of target "${name}"`);
  return matches[0]!;
}

async function readState(deps: DiffTargetDeps, name: string, digest: string): Promise<TargetState> {
  const state = await deps.registry.store.readState(name, digest);
  if (!state) throw new NotFoundError(`the state with digest ${digest} of target "${name}" is no longer kept`);
  return state;
}

/** Per-path changes of the regular files and symlinks (what the digest covers), by path. */
function fileDiffs(before: readonly FileEntry[], after: readonly FileEntry[]): FileDiff[] {
  const relevant = (files: readonly FileEntry[]) =>
    new Map(files.filter((f) => f.kind === FileKind.FILE_KIND_REGULAR || f.kind === FileKind.FILE_KIND_SYMLINK).map((f) => [f.path, f]));
  const a = relevant(before);
  const b = relevant(after);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  const out: FileDiff[] = [];
  for (const path of paths) {
    const x = a.get(path);
    const y = b.get(path);
    if (x && y && sameEntry(x, y)) continue;
    const change = !x ? FileChange.FILE_CHANGE_ADDED : !y ? FileChange.FILE_CHANGE_REMOVED : FileChange.FILE_CHANGE_MODIFIED;
    out.push({ path, change, unifiedDiff: describe(path, x, y) });
  }
  return out;
}

function sameEntry(x: FileEntry, y: FileEntry): boolean {
  return x.kind === y.kind && x.linkTarget === y.linkTarget && x.content.equals(y.content);
}

/** A unified diff for text, a one-line note for binary files, symlinks and kind changes. */
function describe(path: string, x: FileEntry | undefined, y: FileEntry | undefined): string {
  const isLink = (f: FileEntry | undefined) => f?.kind === FileKind.FILE_KIND_SYMLINK;
  if (isLink(x) || isLink(y)) {
    const show = (f: FileEntry | undefined) => (!f ? '(none)' : isLink(f) ? `symlink → ${f.linkTarget}` : `file (${f.content.length} bytes)`);
    return `${show(x)} ⇒ ${show(y)}\n`;
  }
  const xs = x ? asText(x.content) : '';
  const ys = y ? asText(y.content) : '';
  if (xs === undefined || ys === undefined) {
    return `binary file: ${x ? `${x.content.length} bytes` : '(none)'} ⇒ ${y ? `${y.content.length} bytes` : '(none)'}\n`;
  }
  return unifiedDiff(path, xs, ys);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The content as text, or undefined when it is binary (NUL bytes or not UTF-8). */
function asText(content: Buffer): string | undefined {
  if (content.includes(0)) return undefined;
  try {
    return utf8.decode(content);
  } catch {
    return undefined;
  }
}

/** The atoms and sets of world and world_sets, one per non-comment line. */
function worldAtoms(state: TargetState | undefined): string[] {
  const files = (state?.files ?? []).filter((f) => f.kind === FileKind.FILE_KIND_REGULAR && (f.path === 'var/lib/portage/world' || f.path === 'var/lib/portage/world_sets'));
  return files.flatMap((f) =>
    f.content
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

/** The resolved flags as compiler arguments: -march, -mtune, features, params. */
function flagList(flags: NativeFlags | undefined): string[] {
  if (!flags?.known) return [];
  return [`-march=${flags.march}`, ...(flags.mtune ? [`-mtune=${flags.mtune}`] : []), ...flags.featureFlags, ...flags.params];
}

/** Elements of `after` not in `before` and the reverse, each sorted and without duplicates. */
function listDiff(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  const a = new Set(before);
  const b = new Set(after);
  return { added: [...b].filter((x) => !a.has(x)).sort(), removed: [...a].filter((x) => !b.has(x)).sort() };
}
