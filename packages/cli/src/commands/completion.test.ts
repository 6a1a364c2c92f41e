import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { COMMANDS, dispatch } from '../dispatch.js';

async function completion(shell: string): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await dispatch(['completion', shell], { stdout, stderr });
  return { code, out, err };
}

/** Sources the bash script and asks it to complete `words`, the last being the word under the cursor. */
function complete(script: string, words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const res = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _binhostctl; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  expect(res.stderr).toBe('');
  return res.stdout.split('\n').filter(Boolean);
}

const TOP = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]!))];

describe('binhostctl completion', () => {
  it('prints a bash script, made from the command table, that passes bash -n', async () => {
    const { code, out } = await completion('bash');
    expect(code).toBe(0);
    expect(spawnSync('bash', ['-n'], { input: out, encoding: 'utf8' }).status).toBe(0);
    expect(complete(out, ['binhostctl', ''])).toEqual([...TOP, 'help']);
    expect(complete(out, ['binhostctl', 'he'])).toEqual(['help']);
    expect(complete(out, ['binhostctl', 'help', 'sta'])).toEqual(['status']);
    expect(complete(out, ['binhostctl', '--json', 'ta'])).toEqual(['targets', 'target']);
    expect(complete(out, ['binhostctl', '--'])).toEqual(['--config', '--json', '--verbose', '--help', '--version']);
    // --config takes a file, and its value is not mistaken for the command.
    expect(complete(out, ['binhostctl', '--config', 'x.toml', 'comp'])).toEqual(['completion']);
    expect(complete(out, ['binhostctl', 'completion', ''])).toEqual(['bash', 'zsh']);
  });

  it('completes subcommands, each command\'s own options and the words its arguments accept', async () => {
    const { out } = await completion('bash');
    expect(complete(out, ['binhostctl', '--json', 'target', ''])).toEqual(['show', 'diff', 'add', 'config', 'remove']);
    expect(complete(out, ['binhostctl', 'target', 're'])).toEqual(['remove']);
    expect(complete(out, ['binhostctl', 'target', 'remove', '--pu'])).toEqual(['--purge']);
    expect(complete(out, ['binhostctl', 'target', 'add', 'a', '--policy', ''])).toEqual(['auto', 'confirm', 'off']);
    expect(complete(out, ['binhostctl', 'policy', 'alpha', 'co'])).toEqual(['confirm']);
    expect(complete(out, ['binhostctl', 'pki', 'issue', ''])).toEqual(['host', 'target', 'admin']);
    expect(complete(out, ['binhostctl', 'build', 'alpha', '-'])).toEqual(expect.arrayContaining(['-f', '--follow', '--json', '--help']));
    expect(complete(out, ['binhostctl', 'emerge', 'alpha', '--sel'])).toEqual(['--select']);
  });

  it('prints a zsh #compdef script naming every command with its summary', async () => {
    const { code, out } = await completion('zsh');
    expect(code).toBe(0);
    expect(out.startsWith('#compdef binhostctl\n')).toBe(true);
    for (const c of COMMANDS.filter((x) => !x.name.includes(' '))) expect(out).toContain(`'${c.name}:${c.summary.replace(/'/g, `'\\''`).replace(/:/g, '\\:')}'`);
    expect(out).toContain("'help:show help for a command'");
    expect(out).toContain("'remove:forget a target on the host; --purge also deletes its root'");
    const zsh = spawnSync('zsh', ['-n'], { input: out, encoding: 'utf8' });
    // zsh is not on every test machine; bash -n at least checks quoting and brackets then.
    if (zsh.error) expect(spawnSync('bash', ['-n'], { input: out, encoding: 'utf8' }).status).toBe(0);
    else expect(zsh.stderr + String(zsh.status)).toBe('0');
  });

  it('refuses an unknown shell as bad usage', async () => {
    const { code, err } = await completion('fish');
    expect(code).toBe(2);
    expect(err).toContain('binhostctl: SHELL must be bash or zsh, got "fish"\n');
    expect(err).not.toContain('is invalid');
    expect(err).toContain('usage: binhostctl completion [options] <SHELL>');
  });
});
