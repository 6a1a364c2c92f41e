import { FileKind, type FileEntry } from '@binhost/shared';

/**
 * Reads the variables of make.conf the way Portage's getconfig does, as far as the agent needs
 * them (CC, CHOST): `KEY=value`, `KEY="value"` (may span lines, `$VAR`/`${VAR}` expanded from
 * earlier assignments), `KEY='value'` (verbatim), an optional leading `export`, `#` comments.
 * Lines it does not understand (`source`, shell code) are ignored; later assignments win.
 */
export function parseMakeConf(text: string, vars: Map<string, string> = new Map()): Map<string, string> {
  let i = 0;
  const n = text.length;
  const skipLine = () => {
    while (i < n && text[i] !== '\n') i++;
  };
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (text[i] === '#') {
      skipLine();
      continue;
    }
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/.exec(text.slice(i, i + 256));
    if (!m) {
      skipLine();
      continue;
    }
    i += m[0].length;
    let value = '';
    while (i < n && !/\s/.test(text[i]!)) {
      const c = text[i]!;
      if (c === '"' || c === "'") {
        const end = text.indexOf(c, i + 1);
        const raw = text.slice(i + 1, end < 0 ? n : end);
        value += c === '"' ? expand(raw.replace(/\\\n/g, ''), vars) : raw;
        i = end < 0 ? n : end + 1;
      } else if (c === '#' && value === '') {
        break;
      } else {
        let j = i;
        while (j < n && !/[\s"']/.test(text[j]!)) j++;
        value += expand(text.slice(i, j), vars);
        i = j;
      }
    }
    vars.set(m[1]!, value);
  }
  return vars;
}

/** Expands `$VAR` and `${VAR}` from `vars`; unknown variables become empty, like bash. */
function expand(s: string, vars: Map<string, string>): string {
  return s.replace(/\\(.)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_all, esc?: string, a?: string, b?: string) =>
    esc !== undefined ? esc : (vars.get((a ?? b)!) ?? ''),
  );
}

/**
 * The variables of the target's make.conf from a state snapshot. make.conf may be a file or a
 * directory whose files Portage reads in name order.
 */
export function makeConfVars(entries: readonly FileEntry[]): Map<string, string> {
  const files = entries
    .filter((e) => e.kind === FileKind.FILE_KIND_REGULAR && (e.path === 'etc/portage/make.conf' || e.path.startsWith('etc/portage/make.conf/')))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const vars = new Map<string, string>();
  for (const f of files) parseMakeConf(f.content.toString('utf8'), vars);
  return vars;
}

/** Splits a CC value such as "ccache gcc -m64" into argv words (no shell: spaces only). */
export function splitWords(value: string): string[] {
  return value.split(/\s+/).filter(Boolean);
}
