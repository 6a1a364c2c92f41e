import { readdir, readFile } from 'node:fs/promises';

/**
 * Every process of a build in `rootDir`, wherever it runs (in the build sandbox's own PID
 * namespace too): emerge passes ROOT=<rootDir>/ to everything it starts. Pids as this process
 * sees them.
 */
export async function buildProcesses(rootDir: string): Promise<number[]> {
  const rootVar = `ROOT=${rootDir}/`;
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const environ = await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
    const state = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // a zombie has exited already; it only waits for its parent to notice
    if (environ.split('\0').includes(rootVar) && state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3) !== 'Z') found.push(Number(name));
  }
  return found;
}
