import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { emptyProgress, parseEmergeLine, type EmergeProgress } from './emerge-progress.js';

const transcripts = fileURLToPath(new URL('../../../../test/fixtures/portage/transcripts/', import.meta.url));

async function replay(name: string, until?: (p: EmergeProgress) => boolean): Promise<EmergeProgress> {
  const progress = emptyProgress();
  const lines = (await readFile(transcripts + name, 'utf8')).split('\n').filter((l) => !l.startsWith('#'));
  for (const line of lines) {
    parseEmergeLine(progress, line);
    if (until?.(progress)) break;
  }
  return progress;
}

describe('parseEmergeLine', () => {
  it('follows the packages and phases of a real build', async () => {
    const compiling = await replay('binhost-build.txt', (p) => p.packageIndex === 3 && p.phase === 'compile');
    expect(compiling).toMatchObject({ currentPackage: 'app-misc/greet-1.0', packageIndex: 3, packageCount: 4, phase: 'compile' });
    const end = await replay('binhost-build.txt');
    expect(end).toMatchObject({ currentPackage: 'app-misc/hello-user-1.0', packageIndex: 4, packageCount: 4, phase: 'done', failure: '' });
  });

  it('names the failed package and phase of a real failure', async () => {
    const end = await replay('binhost-build-broken.txt');
    expect(end.failure).toBe('app-misc/broken-1.0 failed (compile phase)');
    expect(end.currentPackage).toBe('app-misc/broken-1.0');
  });

  it('reports a failure without an ebuild ERROR line (signature check) with the phase it was in', async () => {
    const end = await replay('signed-build-without-binhost-keyring.txt');
    expect(end.failure).toBe('app-misc/hello-1.0 failed (package phase)');
  });

  it('notices emerge waiting for a lock held by another emerge', () => {
    const p = emptyProgress();
    expect(parseEmergeLine(p, ' * waiting for lock on /r/var/db/.pkg.portage_lockfile ...')).toBe(true);
    expect(p.waitingForLock).toBe('/r/var/db/.pkg.portage_lockfile');
    const q = emptyProgress();
    parseEmergeLine(q, '!!! /q/var/db/.pkg.portage_lockfile is locked by another emerge (pid 7); refusing to run concurrently.');
    expect(q.waitingForLock).toBe('/q/var/db/.pkg.portage_lockfile');
  });

  it('reads binary merges too', () => {
    const p = emptyProgress();
    parseEmergeLine(p, '>>> Emerging binary (1 of 2) app-misc/hello-1.0-1::gentoo for /r/');
    expect(p).toMatchObject({ currentPackage: 'app-misc/hello-1.0-1', packageIndex: 1, packageCount: 2 });
  });
});
