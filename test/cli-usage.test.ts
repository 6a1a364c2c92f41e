import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { COMMANDS, dispatch, GROUPS } from '@binhost/cli';
import { AGENT_MAIN } from './helpers/agent-process.js';

const VERSION = (JSON.parse(readFileSync(new URL('../packages/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Runs binhostctl in-process; any attempt to reach a host fails the test (unless `real`, which reads --config). */
async function ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return run(argv, false);
}

async function run(argv: string[], real: boolean): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) => new Writable({ write: (c, _e, cb) => (add(String(c)), cb()) });
  const code = await dispatch(argv, {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    ...(real ? {} : { admin: () => Promise.reject(new Error(`${argv.join(' ')} tried to reach the host`)) }),
  });
  return { code, out, err };
}

describe('binhostctl help and usage', () => {
  it.each(COMMANDS.map((c) => c.name))('"%s --help" prints usage, options and an example, and reaches no host', async (name) => {
    for (const flag of ['--help', '-h']) {
      const res = await ctl(...name.split(' '), flag);
      expect(res, res.err).toMatchObject({ code: 0, err: '' });
      expect(res.out).toContain(`Usage: binhostctl ${name} `);
      expect(res.out).toMatch(/\nOptions:\n(.*\n)*  -h, --help +show this help\n/);
      expect(res.out).toContain('\nGlobal Options:\n');
      expect(res.out).toMatch(new RegExp(`\\nExamples:\\n  binhostctl ${name}\\b`));
    }
  });

  it.each(GROUPS.map((g) => g.name))('"%s" lists its subcommands with --help, and without a subcommand is bad usage', async (name) => {
    const help = await ctl(name, '--help');
    expect(help.code).toBe(0);
    for (const c of COMMANDS.filter((x) => x.name.startsWith(`${name} `))) expect(help.out).toContain(`  ${c.name.split(' ')[1]}`);
    const bare = await ctl(name);
    expect(bare).toMatchObject({ code: 2, out: '' });
    const subs = COMMANDS.filter((x) => x.name.startsWith(`${name} `)).map((x) => x.name.split(' ')[1]);
    expect(bare.err).toMatch(new RegExp(`^binhostctl ${name}: missing subcommand \\((${subs.join('|')})(, (${subs.join('|')}))*\\)\nUsage: binhostctl ${name} \\[options\\] \\[command\\]\n`));
    const unknown = await ctl(name, 'help', 'nosuch');
    expect(unknown).toMatchObject({ code: 2, out: '' });
    expect(unknown.err).toMatch(new RegExp(`^binhostctl ${name}: unknown subcommand "nosuch"\nUsage: binhostctl ${name} `));
  });

  it.each(COMMANDS.map((c) => c.name))('"%s" with an unknown option exits 2 with its usage on stderr', async (name) => {
    const res = await ctl(...name.split(' '), '--no-such-option');
    expect(res).toMatchObject({ code: 2, out: '' });
    // (a command with a required option names that one first)
    expect(res.err).toMatch(new RegExp(`^binhostctl: (unknown option '--no-such-option'|required option .* not specified)\\nusage: binhostctl ${name} `));
  });

  it('prints usage on stderr and exits 2 without a command, or with an unknown one', async () => {
    const none = await ctl();
    expect(none).toMatchObject({ code: 2, out: '' });
    expect(none.err).toMatch(/^binhostctl: missing command\nUsage: binhostctl \[options\] \[command\]\n/);
    const helpNosuch = await ctl('help', 'nosuch');
    expect(helpNosuch).toMatchObject({ code: 2, out: '' });
    expect(helpNosuch.err).toMatch(/^binhostctl: unknown command "nosuch"\nUsage: binhostctl \[options\] \[command\]\n/);
    // help itself is not an error
    expect(await ctl('help', 'target')).toMatchObject({ code: 0, err: '' });
    const unknown = await ctl('statsu');
    expect(unknown).toMatchObject({ code: 2, out: '' });
    expect(unknown.err).toContain("binhostctl: unknown command 'statsu'\n(Did you mean status?)");
  });

  it('takes the global options anywhere; --config without a value is bad usage', async () => {
    expect(await ctl('--config')).toMatchObject({ code: 2, out: '' });
    expect((await ctl('status', '--config')).code).toBe(2);
    const noConfig = await run(['status', '--json', '--config', '/nonexistent/admin.toml'], true);
    expect(noConfig).toMatchObject({ code: 78, err: 'binhostctl: configuration error: /nonexistent/admin.toml: cannot read config: file not found\n' });
  });

  it('checks arguments before it talks to the host: "cancel --help" and "snapshots --help" are help, a bad id is usage', async () => {
    expect((await ctl('cancel', '--help')).code).toBe(0);
    expect((await ctl('snapshots', '--help')).code).toBe(0);
    const bad = await ctl('cancel', 'alpha', 'x1');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('binhostctl: BUILD must be a positive number, got "x1"');
    expect((await ctl('status', '--', 'x')).err).toContain('status takes no "-- ARGS"');
    expect((await ctl('emerge', 'alpha')).err).toContain('emerge needs "-- EMERGE_ARGS..."');
  });

  it('says which values an argument or option takes, in plain words', async () => {
    const policy = await ctl('policy', 'alpha', 'sometimes');
    expect(policy).toMatchObject({ code: 2, out: '' });
    expect(policy.err).toMatch(/^binhostctl: POLICY must be auto, confirm, off or default, got "sometimes"\nusage: binhostctl policy /);
    const add = await ctl('target', 'add', 'alpha', '--policy', 'sometimes');
    expect(add).toMatchObject({ code: 2, out: '' });
    expect(add.err).toMatch(/^binhostctl: --policy must be auto, confirm or off, got "sometimes"\nusage: binhostctl target add /);
    for (const res of [policy, add]) expect(res.err).not.toContain('is invalid');
  });

  it('target add names the option and the file of a stage3 that is not there, before it reaches the host', async () => {
    const res = await ctl('target', 'add', 'alpha', '--stage3', '/nonexistent/stage3.tar.xz');
    expect(res).toEqual({ code: 1, out: '', err: 'binhostctl: --stage3 /nonexistent/stage3.tar.xz: no such file\n' });
  });

  it('has --version on all three programs', async () => {
    expect(await ctl('--version')).toEqual({ code: 0, out: `binhostctl ${VERSION}\n`, err: '' });
    for (const [program, main] of [['binhost-host', AGENT_MAIN.host], ['binhost-target', AGENT_MAIN.target]] as const) {
      for (const flag of ['--version', '-V']) {
        const res = spawnSync(process.execPath, [main, flag], { encoding: 'utf8' });
        expect(res.stdout).toBe(`${program} ${VERSION}\n`);
        expect(res.status).toBe(0);
      }
      const help = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
      expect(help.stdout).toContain('-V, --version');
      const bad = spawnSync(process.execPath, [main, '--bogus'], { encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain(`usage: ${program} [--config FILE]`);
    }
  });
});
