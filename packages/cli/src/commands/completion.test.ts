import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { COMMANDS, dispatch } from '../dispatch.js';

async function completion(shell: string): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await dispatch(['completion', shell], { stdout, stderr: new PassThrough() });
  return { code, out };
}

/** Sources the bash script and asks it to complete `words`, the last being the word under the cursor. */
function complete(script: string, words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const res = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _binhostctl; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  expect(res.stderr).toBe('');
  return res.stdout.split('\n').filter(Boolean);
}

describe('binhostctl completion', () => {
  it('prints a bash script that passes bash -n and completes every command in the table', async () => {
    const { code, out } = await completion('bash');
    expect(code).toBe(0);
    expect(spawnSync('bash', ['-n'], { input: out, encoding: 'utf8' }).status).toBe(0);
    expect(complete(out, ['binhostctl', ''])).toEqual([...Object.keys(COMMANDS), '--config', '--json', '--help']);
    expect(complete(out, ['binhostctl', '--json', 'ta'])).toEqual(['targets', 'target']);
    // --config takes a file, and its value is not mistaken for the verb.
    expect(complete(out, ['binhostctl', '--config', 'x.toml', 'comp'])).toEqual(['completion']);
    expect(complete(out, ['binhostctl', 'completion', ''])).toEqual(['bash', 'zsh']);
    // target's subcommands right after it, files after that
    expect(complete(out, ['binhostctl', '--json', 'target', ''])).toEqual(['show', 'diff', 'add', 'config', 'remove']);
    expect(complete(out, ['binhostctl', 'target', 're'])).toEqual(['remove']);
    expect(complete(out, ['binhostctl', 'target', 'remove', '--pu'])).toEqual([]);
  });

  it('prints a zsh #compdef script naming every command with its help', async () => {
    const { code, out } = await completion('zsh');
    expect(code).toBe(0);
    expect(out.startsWith('#compdef binhostctl\n')).toBe(true);
    for (const [name, c] of Object.entries(COMMANDS)) expect(out).toContain(`'${name}:${c.help.replace(/'/g, `'\\''`)}'`);
    expect(out).toContain('target) if (( CURRENT == 2 )); then _values subcommand show diff add config remove; else _files; fi ;;');
    // zsh is not installed on test machines: bash -n at least checks quoting and brackets.
    expect(spawnSync('bash', ['-n'], { input: out, encoding: 'utf8' }).status).toBe(0);
  });

  it('refuses an unknown shell with a usage error', async () => {
    await expect(completion('fish')).rejects.toThrow('usage: binhostctl completion bash|zsh');
  });
});
