import { readFileSync } from 'node:fs';

/**
 * The version of the package a module belongs to, read from the `package.json` one directory
 * above it (`src/main.ts` and `dist/main.js` alike; the staged programs keep their package.json).
 * Read when asked (`--version`), never at import time.
 */
export function packageVersion(moduleUrl: string): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', moduleUrl), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    // A copy without its package.json still runs; it just cannot say its version.
    return 'unknown';
  }
}
