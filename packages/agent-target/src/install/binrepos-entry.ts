import { lstat, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, atomicWrite, errnoCode } from '@binhost/shared';

/** The section name Portage knows our mirror by. */
const BINREPO_NAME = 'binhost-agent';
/** Above a stage3's gentoobinhost (priority 1) and anything an admin is likely to set. */
const BINREPO_PRIORITY = 9999;
const BEGIN = '# BEGIN binhost-agent (managed by binhost-target; edits inside are overwritten)';
const END = '# END binhost-agent';

/** Portage's `location` for our binrepo: where emerge keeps the files it downloads from the endpoint. */
export function portageDownloadDir(stateDir: string): string {
  return join(stateDir, 'binpkgs');
}

/**
 * Empties Portage's download dir before a sync. Portage keeps what it downloaded there and trusts
 * a file it finds: one that is bad (an interrupted or tampered download) would fail every later
 * install with "Digest verification failed" even after the mirror has the right one. The mirror
 * is the cache; a download from the loopback endpoint costs nothing.
 */
export async function clearPortageDownloads(stateDir: string): Promise<void> {
  await rm(portageDownloadDir(stateDir), { recursive: true, force: true });
  await mkdir(portageDownloadDir(stateDir), { recursive: true });
}

/** The `[binhost-agent]` section pointing Portage at the loopback endpoint. */
export function binreposSection(port: number, location: string): string {
  return [
    `[${BINREPO_NAME}]`,
    // exactly where the index is served: the endpoint is rooted at the mirror, no /binhost suffix
    `sync-uri = http://127.0.0.1:${port}`,
    `priority = ${BINREPO_PRIORITY}`,
    'verify-signature = true',
    `location = ${location}`,
    '',
  ].join('\n');
}

/**
 * Writes the agent's binrepos.conf entry under `root`, atomically. Normally that is its own file,
 * `etc/portage/binrepos.conf/binhost-agent.conf`. When `etc/portage/binrepos.conf` is a plain
 * file (Portage reads a file or a directory, never both), the section goes into that file between
 * BEGIN/END markers instead, replacing an earlier managed block and keeping every other line.
 * Returns the file written.
 */
export async function writeBinreposEntry(root: string, port: number, location: string): Promise<string> {
  const conf = join(root, 'etc', 'portage', 'binrepos.conf');
  // Portage's config dir is the admin's: the agent adds to it, never creates it
  await lstat(join(root, 'etc', 'portage')).catch(() => {
    throw new AgentError(`${join(root, 'etc', 'portage')} does not exist; binrepos.conf entry not written`);
  });
  const section = binreposSection(port, location);
  let kind: 'dir' | 'file' | 'none' = 'none';
  try {
    kind = (await lstat(conf)).isDirectory() ? 'dir' : 'file';
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  if (kind === 'file') {
    const text = await readFile(conf, 'utf8');
    const next = replaceManagedBlock(text, `${BEGIN}\n${section}${END}\n`);
    if (next !== text) await atomicWrite(conf, next);
    return conf;
  }
  const file = join(conf, `${BINREPO_NAME}.conf`);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current !== section) await atomicWrite(file, section, { mkdirs: true });
  return file;
}

/** `text` with its managed block replaced by `block` (appended when it has none). */
function replaceManagedBlock(text: string, block: string): string {
  const start = text.indexOf(BEGIN);
  const stop = start < 0 ? -1 : text.indexOf(END, start);
  if (start >= 0 && stop >= 0) {
    const after = text.slice(stop + END.length).replace(/^\n/, '');
    return text.slice(0, start) + block + after;
  }
  return text + (text === '' || text.endsWith('\n') ? '' : '\n') + (text === '' ? '' : '\n') + block;
}
