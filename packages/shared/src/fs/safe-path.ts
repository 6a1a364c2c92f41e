import { InvalidArgumentError } from '../errors.js';

/**
 * Checks a relative path that came from the network (a state entry, an index PATH, a file to
 * fetch) before it is joined to any directory: no absolute paths, no `..` or `.` segments, no
 * empty segments, no NUL. Returns it unchanged when it is safe.
 */
export function assertSafeRelativePath(path: string, what = 'path'): string {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`unsafe ${what} ${JSON.stringify(path.slice(0, 200))}: ${why}`);
  };
  if (path.length === 0) bad('empty');
  if (path.length > 4096) bad('too long');
  if (path.includes('\0')) bad('contains NUL');
  if (path.startsWith('/')) bad('absolute');
  for (const segment of path.split('/')) {
    if (segment === '') bad('empty segment');
    if (segment === '.' || segment === '..') bad(`"${segment}" segment`);
  }
  return path;
}
