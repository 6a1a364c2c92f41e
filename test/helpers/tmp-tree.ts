import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp directory removed by `cleanup()`; useHarness (harness.ts) makes one per test and removes it. */
export async function tmpTree(prefix = 'binhost-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // 0755 like /var/lib: real Portage verifies packages as nobody, who must pass through to keyrings
  await chmod(dir, 0o755);
  // Retries: a host stopped a moment ago may still be finishing an atomic write (temp + rename) of
  // a state a target reported, which makes a concurrent rmdir fail with ENOTEMPTY.
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }) };
}
