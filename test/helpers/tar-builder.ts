import { createHash } from 'node:crypto';

/** One member of a synthetic tarball; paths are written verbatim (so tests can write `../x`). */
export interface TarMember {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev' | 'fifo';
  content?: string | Uint8Array;
  linkpath?: string;
  /** @default 0o644 files, 0o755 dirs, 0o777 links */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Extended attributes written as SCHILY.xattr.* pax records (GNU tar's `--xattrs`). */
  xattrs?: Record<string, Uint8Array>;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', chardev: '3', dir: '5', fifo: '6' } as const;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, typeflag: string, size: number, m: TarMember, mode: number): Buffer {
  const b = Buffer.alloc(512);
  if (Buffer.byteLength(name) > 100) throw new Error(`tar-builder: name too long: ${name}`);
  b.write(name, 0, 100, 'utf8');
  b.write(octal(mode, 8), 100, 'ascii');
  b.write(octal(m.uid ?? 0, 8), 108, 'ascii');
  b.write(octal(m.gid ?? 0, 8), 116, 'ascii');
  b.write(octal(size, 12), 124, 'ascii');
  b.write(octal(1_700_000_000, 12), 136, 'ascii');
  b.write('        ', 148, 'ascii');
  b.write(typeflag, 156, 'ascii');
  b.write(m.linkpath ?? '', 157, 100, 'utf8');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  b.write('root', 265, 'ascii');
  b.write('root', 297, 'ascii');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(octal(sum, 7) + ' ', 148, 'ascii');
  return b;
}

function pad(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}

/** A pax record: "<len> key=value\n" where len counts itself. */
function paxRecord(key: string, value: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/**
 * Builds an uncompressed ustar archive byte by byte, so tests can make both ordinary stage3s and
 * malicious ones (`../etc/passwd`, `/abs`, escaping links) that well-behaved tar writers refuse.
 */
export function buildTar(members: readonly TarMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const type = m.type ?? 'file';
    const content = type === 'file' ? Buffer.from(m.content ?? '') : Buffer.alloc(0);
    const mode = m.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644);
    if (m.xattrs && Object.keys(m.xattrs).length > 0) {
      const pax = Buffer.concat(Object.entries(m.xattrs).map(([k, v]) => paxRecord(`SCHILY.xattr.${k}`, v)));
      parts.push(header(`PaxHeaders/${m.path.slice(-80)}`, 'x', pax.length, {}, 0o644), pad(pax));
    }
    parts.push(header(m.path, TYPEFLAG[type], content.length, m, mode));
    if (content.length > 0) parts.push(pad(content));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Hex SHA-256 of bytes. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The members of a minimal stage3: a few dirs, files with special modes, links, a gentoo binhost. */
export function syntheticStage3(): TarMember[] {
  return [
    { path: './', type: 'dir' },
    { path: './etc/', type: 'dir' },
    { path: './etc/portage/', type: 'dir' },
    { path: './etc/portage/make.conf', content: 'COMMON_FLAGS="-O2 -pipe"\nCFLAGS="${COMMON_FLAGS}"\n' },
    { path: './etc/portage/binrepos.conf/', type: 'dir' },
    {
      path: './etc/portage/binrepos.conf/gentoobinhost.conf',
      content: '[gentoobinhost]\npriority = 1\nsync-uri = https://distfiles.gentoo.org/releases/amd64/binpackages/23.0/x86-64/\n',
    },
    { path: './etc/mtab', type: 'symlink', linkpath: '/proc/self/mounts' },
    { path: './usr/', type: 'dir' },
    { path: './usr/bin/', type: 'dir' },
    { path: './usr/bin/passwd', content: '#!/bin/true\n', mode: 0o4711 },
    { path: './usr/bin/awk', type: 'symlink', linkpath: 'gawk' },
    { path: './usr/bin/gawk', content: 'gawk\n', mode: 0o755 },
    { path: './usr/bin/gawk-5', type: 'hardlink', linkpath: './usr/bin/gawk' },
    { path: './etc/os-release', type: 'symlink', linkpath: '../usr/lib/os-release' },
    { path: './var/', type: 'dir' },
    { path: './var/tmp/', type: 'dir', mode: 0o1777 },
    { path: './var/lib/', type: 'dir' },
    { path: './var/lib/portage/', type: 'dir' },
    { path: './var/lib/portage/world', content: '' },
    { path: './home/', type: 'dir', uid: 0, gid: 0 },
    { path: './home/user/', type: 'dir', uid: 1234, gid: 2345, mode: 0o700 },
    { path: './dev/', type: 'dir' },
    { path: './dev/null', type: 'chardev', mode: 0o666 },
  ];
}
