// Reads gpkg binary packages (a plain tar of metadata, image, their signatures and a Manifest)
// so tests can check what the stand-in and real Portage wrote. Test-only: the agents never open one.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@binhost/shared';

/**
 * The part of the gpkg binary package format (GLEP 78, Portage's default BINPKG_FORMAT) that the
 * agents need: the outer file is a plain tar holding one directory `<PF>-<BUILD_ID>/` with
 * `gpkg-1`, `metadata.tar.zst`, `image.tar.zst`, optional `.sig` members and `Manifest` (last).
 * The agents check downloads with SIZE/MD5/SHA1 from the `Packages` index; verifying OpenPGP
 * signatures is left to Portage on the target. See test/fixtures/portage/signed/LAYOUT.md.
 */

/** One member of the outer tar. */
export interface GpkgMember {
  /** Path in the tar, e.g. `hello-1.0-1/metadata.tar.zst`. */
  readonly path: string;
  /** Path without the top directory, e.g. `metadata.tar.zst`. */
  readonly name: string;
  readonly size: number;
  /** Byte offset of the member's data in the file. */
  readonly offset: number;
}

/** One `DATA <name> <size> <HASH> <hex> ...` line of a gpkg Manifest. */
export interface GpkgManifestEntry {
  readonly name: string;
  readonly size: number;
  /** Hash name (`SHA512`, `BLAKE2B`, ...) → lower-case hex, in the order written. */
  readonly hashes: ReadonlyMap<string, string>;
}

/** What {@link readGpkg} learns about a package. */
export interface GpkgInfo {
  /** The top directory (`<PF>-<BUILD_ID>`, or `<PF>` without binpkg-multi-instance). */
  readonly basename: string;
  /** Regular-file members in archive order. */
  readonly members: readonly GpkgMember[];
  /** The Manifest's DATA lines. */
  readonly manifest: readonly GpkgManifestEntry[];
  /** Whether the Manifest is an OpenPGP clearsigned message. */
  readonly manifestSigned: boolean;
  /** True when any member ends in `.sig` or the Manifest is signed (the rule in LAYOUT.md). */
  readonly signed: boolean;
}

const BLOCK = 512;

function cString(buf: Uint8Array, offset: number, width: number): string {
  const slice = buf.subarray(offset, offset + width);
  const nul = slice.indexOf(0);
  return Buffer.from(nul < 0 ? slice : slice.subarray(0, nul)).toString('utf8');
}

function octal(buf: Uint8Array, offset: number, width: number, source: string): number {
  const text = cString(buf, offset, width).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new InvalidArgumentError(`${source}: bad tar header number ${JSON.stringify(text)} at offset ${offset}`);
  return parseInt(text, 8);
}

function paxPath(data: Uint8Array): string | undefined {
  const text = Buffer.from(data).toString('utf8');
  return /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text)?.[1];
}

/**
 * Lists the regular-file members of a tar (ustar, with PAX `path` and GNU long-name records).
 * Throws InvalidArgumentError naming `source` for a truncated or corrupt archive.
 */
export function listTarMembers(buf: Uint8Array, source = 'gpkg'): Array<Omit<GpkgMember, 'name'>> {
  const out: Array<Omit<GpkgMember, 'name'>> = [];
  let pos = 0;
  let longName: string | undefined;
  for (;;) {
    if (pos + BLOCK > buf.length) throw new InvalidArgumentError(`${source}: truncated tar (no end-of-archive marker)`);
    const h = buf.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) return out;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== octal(h, 148, 8, source)) throw new InvalidArgumentError(`${source}: bad tar header checksum at offset ${pos}`);
    const size = octal(h, 124, 12, source);
    const type = String.fromCharCode(h[156] || 0x30);
    const offset = pos + BLOCK;
    if (offset + size > buf.length) throw new InvalidArgumentError(`${source}: truncated tar member at offset ${pos}`);
    const data = buf.subarray(offset, offset + size);
    pos = offset + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L') {
      longName = type === 'x' ? paxPath(data) : Buffer.from(data).toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const prefix = cString(h, 345, 155);
    const path = longName ?? (prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100));
    longName = undefined;
    if (type === '0' || type === '\0') out.push({ path, size, offset });
  }
}

/** Parses Manifest text (clearsigned or not) into its DATA lines. */
export function parseGpkgManifest(text: string, source = 'Manifest'): GpkgManifestEntry[] {
  const out: GpkgManifestEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.startsWith('DATA ')) return;
    const [, name, size, ...pairs] = line.trim().split(' ');
    if (!name || !size || !/^\d+$/.test(size) || pairs.length % 2 !== 0) {
      throw new InvalidArgumentError(`${source}:${i + 1}: malformed DATA line ${JSON.stringify(line.slice(0, 80))}`);
    }
    const hashes = new Map<string, string>();
    for (let j = 0; j < pairs.length; j += 2) hashes.set(pairs[j]!, pairs[j + 1]!.toLowerCase());
    out.push({ name, size: Number(size), hashes });
  });
  return out;
}

/**
 * Reads a gpkg's structure and Manifest from its bytes: one top directory, `gpkg-1` present,
 * `Manifest` last and listing every other member with the right size.
 */
export function readGpkg(buf: Uint8Array, source = 'gpkg'): GpkgInfo {
  const raw = listTarMembers(buf, source);
  const top = raw[0]?.path.split('/')[0];
  if (!top) throw new InvalidArgumentError(`${source}: empty archive`);
  const members = raw.map((m) => {
    const slash = m.path.indexOf('/');
    if (slash < 0 || m.path.slice(0, slash) !== top) throw new InvalidArgumentError(`${source}: member ${m.path} is outside ${top}/`);
    return { ...m, name: m.path.slice(slash + 1) };
  });
  if (!members.some((m) => m.name === 'gpkg-1')) throw new InvalidArgumentError(`${source}: no gpkg-1 member (not a gpkg)`);
  const last = members[members.length - 1]!;
  if (last.name !== 'Manifest') throw new InvalidArgumentError(`${source}: Manifest is not the last member`);
  const manifestText = Buffer.from(buf.subarray(last.offset, last.offset + last.size)).toString('utf8');
  const manifest = parseGpkgManifest(manifestText, `${source}:Manifest`);
  for (const m of members.slice(0, -1)) {
    const entry = manifest.find((e) => e.name === m.name);
    if (!entry) throw new InvalidArgumentError(`${source}: member ${m.name} is not in the Manifest`);
    if (entry.size !== m.size) throw new InvalidArgumentError(`${source}: member ${m.name} is ${m.size} bytes, Manifest says ${entry.size}`);
  }
  const manifestSigned = manifestText.includes('-----BEGIN PGP SIGNATURE-----');
  return { basename: top, members, manifest, manifestSigned, signed: manifestSigned || members.some((m) => m.name.endsWith('.sig')) };
}

const NODE_HASH: Record<string, string> = { SHA512: 'sha512', BLAKE2B: 'blake2b512', SHA256: 'sha256' };

/**
 * Recomputes every member's hashes and compares them with the Manifest. Returns the names of
 * members that do not match (empty when the package is intact). Unknown hash names are skipped.
 */
export function checkGpkgManifest(buf: Uint8Array, info: GpkgInfo): string[] {
  const bad: string[] = [];
  for (const m of info.members.slice(0, -1)) {
    const entry = info.manifest.find((e) => e.name === m.name)!;
    const data = buf.subarray(m.offset, m.offset + m.size);
    for (const [name, hex] of entry.hashes) {
      const alg = NODE_HASH[name];
      if (alg && createHash(alg).update(data).digest('hex') !== hex) {
        bad.push(m.name);
        break;
      }
    }
  }
  return bad;
}

/** Reads a gpkg file from disk (see {@link readGpkg}); the message names the path. */
export async function readGpkgFile(path: string): Promise<GpkgInfo> {
  return readGpkg(await readFile(path), path);
}
