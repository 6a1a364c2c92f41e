import type { MarchSummary, NativeFlags } from '@binhost/shared';

/**
 * `-march=X` plus the flags `-march=X` does not imply on the host's compiler (and `-mtune=Y` when
 * Y is not X): the resolved `-march=native` as an admin would write it.
 */
export function adminFlags(m: MarchSummary): string {
  return [`-march=${m.march}`, ...m.differingFlags, ...(m.mtune && m.mtune !== m.march ? [`-mtune=${m.mtune}`] : [])].join(' ');
}

/** Every word the resolved `-march=native` became in the applied make.conf. */
function resolvedWords(nf: NativeFlags): Set<string> {
  return new Set([...nf.featureFlags, ...nf.params, `-mtune=${nf.mtune}`]);
}

/**
 * Shortens each run of the resolved flags in `text` (a make.conf, a rewrite's value) to
 * {@link adminFlags}: the run starts at `-march=X` and goes on while the words are the target's
 * resolved flags; quotes around the value stay where they were.
 */
export function compactFlags(text: string, m: MarchSummary, nf: NativeFlags): string {
  const words = resolvedWords(nf);
  const start = `-march=${m.march}`;
  const parts = text.split(/(\s+)/);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const at = part.indexOf(start);
    // `-march=X`, `"-march=X` or `COMMON_FLAGS="-march=X`, and not `-march=X` followed by more letters
    const rest = at >= 0 ? part.slice(at + start.length) : undefined;
    if (rest === undefined || !/^["']?$/.test(rest)) {
      out.push(part);
      continue;
    }
    let closing = rest;
    let j = i;
    // words of the run: j+1 is whitespace, j+2 the next word
    while (closing === '' && j + 2 < parts.length) {
      const word = parts[j + 2]!;
      const bare = word.replace(/["']$/, '');
      if (!words.has(bare)) break;
      closing = word.slice(bare.length);
      j += 2;
    }
    if (j === i) {
      // `-march=X` alone is the admin's own, not the resolved -march=native: as written
      out.push(part);
      continue;
    }
    out.push(part.slice(0, at) + adminFlags(m) + closing);
    i = j;
  }
  return out.join('');
}
