import { Transform, type TransformCallback } from 'node:stream';
import { normalizeEntryPath } from './archive-entry-check.js';

/** Extended attributes of one archive member, values as raw bytes. */
export interface MemberXattrs {
  /** Normalised member path (as {@link normalizeEntryPath} gives it). */
  path: string;
  xattrs: Map<string, Buffer>;
}

const BLOCK = 512;

/** A tar size field: octal text, or base-256 when the high bit of the first byte is set. */
function parseSize(field: Buffer): number {
  if ((field[0]! & 0x80) !== 0) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/g, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function cString(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return (nul < 0 ? slice : slice.subarray(0, nul)).toString('utf8');
}

/** Pax records `"<len> <key>=<value>\n"` with values kept as bytes (xattr values are binary). */
function parsePaxRecords(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(body.subarray(pos, space).toString('latin1'), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > body.length) break;
    const record = body.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

/**
 * A pass-through stream that reads tar headers on the way to node-tar and collects the
 * `SCHILY.xattr.*` pax records GNU tar writes with `--xattrs`. node-tar 7 parses pax headers
 * itself but drops these keys and decodes values as UTF-8, which would corrupt binary values
 * such as `security.capability`; this scanner keeps the bytes.
 */
export class TarXattrScanner extends Transform {
  readonly members: MemberXattrs[] = [];
  private pending = Buffer.alloc(0);
  /** Bytes of the current member's body still to skip or collect. */
  private remaining = 0;
  private padding = 0;
  private collecting: 'pax' | 'longname' | undefined;
  private collected: Buffer[] = [];
  private paxPath: string | undefined;
  private longName: string | undefined;
  private paxXattrs = new Map<string, Buffer>();

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.scan(chunk);
    cb(null, chunk);
  }

  private scan(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, data.length);
        if (this.collecting) this.collected.push(Buffer.from(data.subarray(0, take)));
        this.remaining -= take;
        data = data.subarray(take);
        if (this.remaining > 0) break;
        this.finishBody();
      }
      if (this.padding > 0) {
        const take = Math.min(this.padding, data.length);
        this.padding -= take;
        data = data.subarray(take);
        if (this.padding > 0) break;
      }
      if (data.length < BLOCK) break;
      this.header(data.subarray(0, BLOCK));
      data = data.subarray(BLOCK);
    }
    this.pending = Buffer.from(data);
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) return;
    const size = parseSize(block.subarray(124, 136));
    const type = String.fromCharCode(block[156]!);
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.collecting = type === 'x' ? 'pax' : type === 'L' ? 'longname' : undefined;
    this.collected = [];
    if (type === 'x' || type === 'L' || type === 'g' || type === 'K') {
      if (size === 0) this.finishBody();
      return;
    }
    const name = cString(block, 0, 100);
    const prefix = block.subarray(257, 262).toString('latin1') === 'ustar' ? cString(block, 345, 155) : '';
    const path = this.paxPath ?? this.longName ?? (prefix ? `${prefix}/${name}` : name);
    if (this.paxXattrs.size > 0) this.members.push({ path: normalizeEntryPath(path), xattrs: this.paxXattrs });
    this.paxPath = this.longName = undefined;
    this.paxXattrs = new Map();
    this.collecting = undefined;
  }

  private finishBody(): void {
    const body = Buffer.concat(this.collected);
    if (this.collecting === 'pax') {
      for (const [key, value] of parsePaxRecords(body)) {
        if (key.startsWith('SCHILY.xattr.')) this.paxXattrs.set(key.slice('SCHILY.xattr.'.length), value);
        else if (key === 'path') this.paxPath = value.toString('utf8');
      }
    } else if (this.collecting === 'longname') {
      this.longName = cString(body, 0, body.length);
    }
    this.collecting = undefined;
    this.collected = [];
  }
}
