import { errnoCode, ExecError, type CommandRunner } from '@binhost/shared';
import type { MemberXattrs } from './tar-xattr-scan.js';

/** Escapes a path the way getfattr dumps it (octal for control bytes, space-like and `\`). */
function quotePath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    out += byte <= 0x20 || byte === 0x5c || byte >= 0x7f ? `\\${byte.toString(8).padStart(3, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/** `getfattr --dump`'s format, which `setfattr --restore` reads: values hex-encoded. */
function xattrDump(members: readonly MemberXattrs[]): string {
  return members
    .map((m) => {
      const lines = [...m.xattrs].map(([name, value]) => `${name}=0x${value.toString('hex')}`);
      return `# file: ${quotePath(m.path)}\n${lines.join('\n')}\n`;
    })
    .join('\n');
}

/**
 * Restores the archive's extended attributes (file capabilities like `security.capability` on
 * ping, PaX flags) with one `setfattr -h --restore=-` run in the root: the guide's
 * `--xattrs-include='*.*'`. Node has no xattr API, and setfattr (sys-apps/attr) is part of every
 * Gentoo system. Returns a warning (setfattr missing, attributes refused) instead of failing the root.
 */
export async function restoreXattrs(runner: CommandRunner, root: string, members: readonly MemberXattrs[]): Promise<string | undefined> {
  if (members.length === 0) return undefined;
  try {
    // -h: never follow a symlink out of the root; paths are relative to cwd = the root.
    await runner.run({ file: 'setfattr', args: ['-h', '--restore=-'], cwd: root, input: xattrDump(members), tailLines: 10 });
    return undefined;
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    if (err.exitCode === null && errnoCode(err.cause) === 'ENOENT') {
      return `extended attributes of ${members.length} entries not restored: setfattr (sys-apps/attr) is not installed`;
    }
    // As GNU tar does, a filesystem that refuses some attributes makes a warning, not a failure.
    return `extended attributes not fully restored: ${err.stderrTail.slice(-3).join('; ')}`;
  }
}
