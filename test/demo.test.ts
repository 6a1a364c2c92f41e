import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

// The README's first command runs this script (after install and build): it must work end to end.
// Here with the stand-in emerge (`npm run demo -- --stand-in`, ≈ 8 s instead of ≈ 30 s): what real
// Portage does in the same loop (the build, the signatures, the install of the package.use change)
// is test/real-portage.test.ts's, which runs it once; this test keeps what is the demo's own (the
// script, the agents as processes, binhostctl's tables and what the script prints).
describe('npm run demo', () => {
  it('takes a package.use change on the target through build, signed snapshot and install', async () => {
    const script = resolve(import.meta.dirname, '../scripts/demo.mjs');
    const child = spawn(process.execPath, [script, '--stand-in'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(out, out).toMatch(/==> done in \d+ s: the package.use change flowed through/);
    expect(code).toBe(0);
    // the second status table shows snapshot #2 published and installed, built from the current config
    expect(out).toMatch(/demo-target\s+connected\s+([0-9a-f]{12})\s+\1\s+#2\s+#2/);
    expect(out).toMatch(/greet-1\.0-\d+\.gpkg\.tar: gpkg-1, metadata\.tar\.zst, metadata\.tar\.zst\.sig, image\.tar\.zst, image\.tar\.zst\.sig, Manifest/);
    expect(out).toMatch(/greet-1\.0\/CFLAGS: -O2 -pipe -march=(?!native)\S+/);
    // binhostctl history: each reported digest with the build made from it and its snapshot
    // the order of what it prints: the target starts once the host listens (no retry), the
    // install of snapshot 2 is reported before "done", the clean-up last
    expect(out).not.toContain('host unreachable');
    expect(out.indexOf('[host] listening')).toBeGreaterThan(-1);
    expect(out.indexOf('[host] listening')).toBeLessThan(out.indexOf('starting the target agent'));
    expect(out.indexOf('[target] snapshot installed (snapshotId=2)')).toBeGreaterThan(-1);
    expect(out.indexOf('[target] snapshot installed (snapshotId=2)')).toBeLessThan(out.indexOf('==> done in'));
    expect(out.trimEnd().endsWith('==> stopped both agents and cleaned up')).toBe(true);
    expect(out).toMatch(/REPORTED\s+DIGEST\s+BUILDS\s+SNAPSHOTS\n.*[0-9a-f]{12}\s+#1 succeeded\s+#1\n.*[0-9a-f]{12}\s+#2 succeeded\s+#2\n/);
  }, 180_000);
});
