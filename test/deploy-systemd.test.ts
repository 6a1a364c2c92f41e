import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useHarness } from './helpers/harness.js';
import { REPO } from './helpers/repo.js';

/**
 * The systemd units, checked with `systemd-analyze verify` (required on test machines: CI has
 * /usr/bin/systemd-analyze). verify exits 0 even for unknown keys and bad values and only warns on
 * stderr (toolchain.md), so a unit passes only with exit 0 AND an empty stderr.
 *
 * verify also insists that ExecStart's program exists and is executable, and /usr/bin/binhost-*
 * is not installed on a test machine. So each unit is verified as a temp copy in which only that
 * one path is replaced by an executable stub; every other line is the shipped file's.
 */
const UNITS = ['binhost-host', 'binhost-target'] as const;

function verify(unitFile: string) {
  const res = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
  if (res.error) throw new Error(`systemd-analyze is required for this test: ${res.error.message}`);
  return { status: res.status, stderr: res.stderr };
}

describe('systemd units', () => {
  const h = useHarness({ prefix: 'binhost-units-', pki: false });

  /** The shipped unit with /usr/bin/NAME replaced by an executable stub in the temp dir. */
  async function testCopy(name: string, edit: (text: string) => string = (t) => t): Promise<string> {
    const text = await readFile(join(REPO, 'deploy/systemd', `${name}.service`), 'utf8');
    const program = `/usr/bin/${name}`;
    expect(text.split(program).length - 1).toBe(1); // only ExecStart names it
    const stub = join(h.dir, name);
    await writeFile(stub, '#!/bin/sh\nexit 0\n');
    await chmod(stub, 0o755);
    const file = join(h.dir, `${name}.service`);
    await writeFile(file, edit(text.replace(program, stub)));
    return file;
  }

  for (const name of UNITS) {
    it(`${name}.service passes systemd-analyze verify with an empty stderr`, async () => {
      const res = verify(await testCopy(name));
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
    });

    it(`${name}.service runs the agent with its config, reloads with HUP and does not loop on exit 78`, async () => {
      const text = await readFile(join(REPO, 'deploy/systemd', `${name}.service`), 'utf8');
      const agent = name.replace('binhost-', '');
      const lines = text.split('\n').filter((l) => !l.startsWith('#'));
      expect(lines).toContain(`ExecStart=/usr/bin/${name} --config /etc/binhost/${agent}.toml`);
      expect(lines).toContain('ExecReload=/bin/kill -HUP $MAINPID');
      expect(lines).toContain('Restart=on-failure');
      expect(lines).toContain('RestartPreventExitStatus=78');
      expect(lines).toContain('KillMode=mixed');
      expect(lines).toContain('NoNewPrivileges=yes');
      expect(lines).toContain('ConfigurationDirectory=binhost');
      // The target installs into /: a read-only /usr would make every install fail.
      expect(lines.some((l) => l.startsWith('ProtectSystem='))).toBe(agent === 'host');
    });
  }

  it('the check would catch a misspelled key (verify only warns about it)', async () => {
    const file = await testCopy('binhost-host', (t) => t.replace('LockPersonality=yes', 'LockPersonalty=yes'));
    const res = verify(file);
    expect(res.status).toBe(0);
    expect(res.stderr).toContain("Unknown key 'LockPersonalty'");
  });
});
