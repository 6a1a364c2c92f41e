import { FileKind, makeConfValues, MakeConfSyntaxError, type FileEntry } from '@binhost/shared';

/**
 * The variables of the target's make.conf from a state snapshot, read as Portage reads them
 * (shared's make.conf reader), as far as the agent needs them (CC, CHOST). make.conf may be a
 * file or a directory whose files Portage reads in name order. A file Portage could not read is
 * left out here (the host refuses to apply it, naming file and line).
 */
export function makeConfVars(entries: readonly FileEntry[]): Map<string, string> {
  const files = entries
    .filter((e) => e.kind === FileKind.FILE_KIND_REGULAR && (e.path === 'etc/portage/make.conf' || e.path.startsWith('etc/portage/make.conf/')))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const vars = new Map<string, string>();
  for (const f of files) {
    try {
      makeConfValues(f.content.toString('utf8'), f.path, vars);
    } catch (err) {
      if (!(err instanceof MakeConfSyntaxError)) throw err;
    }
  }
  return vars;
}

/** Splits a CC value such as "ccache gcc -m64" into argv words (no shell: spaces only). */
export function splitWords(value: string): string[] {
  return value.split(/\s+/).filter(Boolean);
}
