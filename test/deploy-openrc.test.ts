import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useHarness } from './helpers/harness.js';
import { REPO } from './helpers/repo.js';
import { AGENT_MAIN } from './helpers/agent-process.js';

/**
 * The OpenRC scripts. OpenRC itself is not installed on test machines, so this checks what can
 * be checked without it, and says so:
 * - `sh -n` (POSIX syntax, run by the system's sh: dash on Debian, stricter than bash);
 * - the conventions openrc-run relies on (shebang, command/command_args/command_background/pidfile,
 *   depend() needing net, extra_started_commands="reload" with a reload() function);
 * - and the script's own logic, executed by sh: it is sourced as openrc-run sources it, with
 *   OpenRC's helpers (ebegin, eend, checkpath, start-stop-daemon, need/use/after) replaced by stubs
 *   that record their arguments; `command` is pointed at the built agent, so start_pre's config
 *   check really runs it. What is NOT checked: openrc-run's own handling (backgrounding, pidfile,
 *   retry, logging), which only a machine running OpenRC can exercise.
 */
const SCRIPTS = ['binhost-host', 'binhost-target'] as const;

describe('OpenRC init scripts', () => {
  const h = useHarness({ prefix: 'binhost-openrc-' });

  for (const name of SCRIPTS) {
    const agent = name.replace('binhost-', '') as 'host' | 'target';
    const initd = join(REPO, 'deploy/openrc/init.d', name);
    const confd = join(REPO, 'deploy/openrc/conf.d', name);

    it(`${name}: sh -n passes for init.d and conf.d, and it follows openrc-run conventions`, async () => {
      for (const f of [initd, confd]) expect(spawnSync('sh', ['-n', f], { encoding: 'utf8' }).stderr).toBe('');
      const text = await readFile(initd, 'utf8');
      expect(text.startsWith('#!/sbin/openrc-run\n')).toBe(true);
      for (const re of [/^command=/m, /^command_args=/m, /^command_background="yes"$/m, /^pidfile=/m, /^extra_started_commands="reload"$/m, /^depend\(\) \{$/m, /^reload\(\) \{$/m, /^start_pre\(\) \{$/m, /^checkconfig\(\) \{$/m]) {
        expect(text).toMatch(re);
      }
      expect((await import('node:fs')).statSync(initd).mode & 0o777).toBe(0o755);
    });

    /** Runs `body` in sh after sourcing the init script with stubbed OpenRC helpers. */
    async function runScript(body: string, env: Record<string, string> = {}) {
      const bin = join(h.dir, 'bin');
      const calls = join(h.dir, 'calls.log');
      await mkdir(bin, { recursive: true });
      const stubs: Record<string, string> = {
        ebegin: `echo "ebegin $*" >>"${calls}"`,
        // eend STATUS [MESSAGE]: returns STATUS, as OpenRC's does.
        eend: `echo "eend $*" >>"${calls}"; exit "$1"`,
        checkpath: `echo "checkpath $*" >>"${calls}"`,
        'start-stop-daemon': `echo "start-stop-daemon $*" >>"${calls}"`,
        need: `echo "need $*" >>"${calls}"`,
        use: `echo "use $*" >>"${calls}"`,
        after: `echo "after $*" >>"${calls}"`,
        // The agent as the wrapper in /usr/bin would run it.
        agent: `exec "${process.execPath}" "${AGENT_MAIN[agent]}" "$@"`,
      };
      for (const [stub, code] of Object.entries(stubs)) {
        await writeFile(join(bin, stub), `#!/bin/sh\n${code}\n`);
        await chmod(join(bin, stub), 0o755);
      }
      const script = `RC_SVCNAME=${name}\n. "${initd}"\n${body}\n`;
      const res = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env, PATH: `${bin}:${process.env['PATH']}` } });
      const log = await readFile(calls, 'utf8').catch(() => '');
      return { status: res.status, stdout: res.stdout, stderr: res.stderr, calls: log.split('\n').filter(Boolean) };
    }

    it(`${name}: defaults for command, args, pidfile, log; conf.d settings override them`, async () => {
      const show = 'printf "%s\\n" "$command" "$command_args" "$command_background" "$pidfile" "$output_log" "$error_log" "$error_logger" "$retry"';
      const plain = await runScript(show);
      expect(plain.stdout.split('\n')).toEqual([
        `/usr/bin/${name}`, `--config /etc/binhost/${agent}.toml `, 'yes', `/run/${name}.pid`,
        `/var/log/binhost/${agent}.log`, `/var/log/binhost/${agent}.log`, '', agent === 'host' ? 'TERM/90/KILL/5' : 'TERM/600/KILL/5', '',
      ]);
      const custom = await runScript(show, { BINHOST_CONFIG: '/srv/b.toml', BINHOST_OPTS: '--x', output_logger: 'logger -t b' });
      expect(custom.stdout.split('\n').slice(1, 7)).toEqual(['--config /srv/b.toml --x', 'yes', `/run/${name}.pid`, '', '', 'logger -t b']);
    });

    it(`${name}: depend() needs net; start_pre checks the config and makes the dirs; reload() sends HUP`, async () => {
      const f = await h.pki.files(agent, 'alpha');
      const config = join(h.dir, `${agent}.toml`);
      await writeFile(config, `${agent === 'target' ? 'host = "binhost.lan:7453"\n' : ''}[tls]\nca = "${f.ca}"\ncert = "${f.cert}"\nkey = "${f.key}"\n`);
      const res = await runScript('depend\ncommand=agent\nstart_pre\nreload', { BINHOST_CONFIG: config });
      const checked = [`ebegin Checking ${config}`, `eend 0 ${config} is not usable (see the line above)`];
      const stateDir = agent === 'host' ? '/var/lib/binhost' : '/var/lib/binhost-target';
      expect(res.status).toBe(0);
      expect(res.calls).toEqual([
        'need net', 'use dns logger', 'after ntp-client ntpd chronyd',
        ...checked,
        `checkpath --directory --mode ${agent === 'host' ? '0711' : '0750'} --owner root:root ${stateDir}`,
        'checkpath --directory --mode 0750 --owner root:root /var/log/binhost',
        ...checked,
        `ebegin Reloading ${name}`, `start-stop-daemon --signal HUP --pidfile /run/${name}.pid`, 'eend 0',
      ]);
    });

    it(`${name}: start_pre refuses a bad config with the agent's message and creates nothing`, async () => {
      const config = join(h.dir, `${agent}.toml`);
      await writeFile(config, 'bogus = 1\n');
      const res = await runScript('command=agent\nstart_pre', { BINHOST_CONFIG: config });
      expect(res.status).not.toBe(0);
      expect(res.stderr).toContain(`${name}: configuration error: ${config}:`);
      expect(res.calls.some((c) => c.startsWith('eend 78'))).toBe(true);
      expect(res.calls.some((c) => c.startsWith('checkpath'))).toBe(false);
    });
  }
});
