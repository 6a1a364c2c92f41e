/**
 * Which keys differ between two parsed configs, and a config that takes only some of them over.
 * Paths are the parsed objects' camelCase paths (`install.policy`, `build.autoArgs`);
 * {@link fileKey} spells them as the file does (`build.auto_args`) for messages.
 */

type Plain = Record<string, unknown>;

/** The paths whose values differ; `configFile` is not a setting and is ignored. */
export function changedPaths(before: object, after: object, prefix = ''): string[] {
  const a = before as Plain;
  const b = after as Plain;
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (prefix === '' && key === 'configFile') continue;
    const path = prefix ? `${prefix}.${key}` : key;
    const [x, y] = [a[key], b[key]];
    if (isPlain(x) && isPlain(y)) out.push(...changedPaths(x, y, path));
    else if (!sameValue(x, y)) out.push(path);
  }
  return out;
}

/**
 * A copy of `base` in which the values at `paths` come from `source`: the config that is in effect
 * after a reload that applied only the live settings.
 */
export function takePaths<C extends object>(base: C, source: C, paths: readonly string[]): C {
  const copy = structuredClone(base) as Plain;
  for (const path of paths) {
    const parts = path.split('.');
    const last = parts.pop()!;
    let to: Plain = copy;
    let from: Plain = source as Plain;
    for (const p of parts) {
      to = to[p] as Plain;
      from = from[p] as Plain;
    }
    to[last] = structuredClone(from[last]);
  }
  return copy as C;
}

/** `build.autoArgs` → `build.auto_args`: the key as it is written in the TOML file. */
export function fileKey(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Config values are strings, numbers, booleans and arrays of strings: JSON compares them exactly.
function sameValue(x: unknown, y: unknown): boolean {
  return x === y || JSON.stringify(x) === JSON.stringify(y);
}
