import { makeGenericClientConstructor, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { type TargetServiceClient, TargetServiceService, type FetchFileResponse } from '../api.js';
import { deserializeReportStateRequest } from '../state/report-limits.js';

/**
 * Serializes a FetchFileResponse with one copy of its data.
 *
 * The generated `responseSerialize` copies every chunk twice (BinaryWriter.finish, then
 * Buffer.from) and allocates a writer per message; at a few thousand 256 KiB chunks per GiB
 * that was the host's largest cost after TLS. The bytes are identical to the generated encoder's:
 * fields in number order, zero values omitted (the codec test compares them).
 */
export function serializeFetchFileResponse(message: FetchFileResponse): Buffer {
  if (message instanceof EncodedFetchFileChunk) return message.encoded;
  const { offset, data, totalSize } = message;
  const size =
    (offset !== 0n ? 1 + varintLength(offset) : 0) +
    (data.length !== 0 ? 1 + varintLength(BigInt(data.length)) + data.length : 0) +
    (totalSize !== 0n ? 1 + varintLength(totalSize) : 0);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (offset !== 0n) {
    out[pos++] = 0x08; // field 1, varint
    pos = writeVarint(out, pos, offset);
  }
  if (data.length !== 0) {
    out[pos++] = 0x12; // field 2, length-delimited
    pos = writeVarint(out, pos, BigInt(data.length));
    out.set(data, pos);
    pos += data.length;
  }
  if (totalSize !== 0n) {
    out[pos++] = 0x18; // field 3, varint
    pos = writeVarint(out, pos, totalSize);
  }
  return out;
}

/**
 * A FetchFile chunk that carries its own wire bytes: the file is read straight into the encoded
 * message, between its header and trailer, and `data` is a view of that part. The host serves
 * files this way so that a byte is copied once on its way out (by grpc-js's framing) instead of
 * three times, and the garbage collector has a third of the memory to chase.
 */
export class EncodedFetchFileChunk implements FetchFileResponse {
  readonly encoded: Buffer;
  readonly data: Buffer;

  /** Room for `length` data bytes at `offset` of a `totalSize`-byte file; the caller fills {@link data}. */
  constructor(
    readonly offset: bigint,
    length: number,
    readonly totalSize: bigint,
  ) {
    const head = (offset !== 0n ? 1 + varintLength(offset) : 0) + 1 + varintLength(BigInt(length));
    const tail = totalSize !== 0n ? 1 + varintLength(totalSize) : 0;
    this.encoded = Buffer.allocUnsafe(head + length + tail);
    let pos = 0;
    if (offset !== 0n) {
      this.encoded[pos++] = 0x08;
      pos = writeVarint(this.encoded, pos, offset);
    }
    this.encoded[pos++] = 0x12;
    pos = writeVarint(this.encoded, pos, BigInt(length));
    this.data = this.encoded.subarray(pos, pos + length);
    if (totalSize !== 0n) {
      this.encoded[pos + length] = 0x18;
      writeVarint(this.encoded, pos + length + 1, totalSize);
    }
  }
}

/** Thrown for FetchFile bytes that are not a well-formed FetchFileResponse. */
export class FetchFileDecodeError extends Error {
  override name = 'FetchFileDecodeError';
}

/**
 * Parses a FetchFileResponse whose `data` is a view of `message`, not a copy.
 *
 * The generated decoder copies every chunk (`Buffer.from(reader.bytes())`) into fresh memory, and
 * first-touching that memory cost the target more than the copy itself. grpc-js hands each
 * message over in a buffer of its own, so a view keeps nothing else alive. Unknown fields are
 * skipped as protobuf requires.
 */
export function deserializeFetchFileResponse(message: Buffer): FetchFileResponse {
  const out: FetchFileResponse = { offset: 0n, data: Buffer.alloc(0), totalSize: 0n };
  const reader = { buf: message, pos: 0 };
  while (reader.pos < message.length) {
    const tag = Number(readVarint(reader));
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) out.offset = readVarint(reader);
    else if (field === 3 && wire === 0) out.totalSize = readVarint(reader);
    else if (field === 2 && wire === 2) out.data = readLengthDelimited(reader);
    else skipField(reader, wire);
  }
  return out;
}

/**
 * TargetService as both agents put it on the wire: the generated definition with FetchFile's chunk
 * codec, and ReportState's request decoder that refuses a report over its limits before decoding
 * it (state/report-limits.ts; only the host decodes requests).
 */
export const TargetServiceDefinition = {
  ...TargetServiceService,
  reportState: {
    ...TargetServiceService.reportState,
    requestDeserialize: deserializeReportStateRequest,
  },
  fetchFile: {
    ...TargetServiceService.fetchFile,
    responseSerialize: serializeFetchFileResponse,
    responseDeserialize: deserializeFetchFileResponse,
  },
} as const satisfies typeof TargetServiceService;

const TargetServiceWireClient = makeGenericClientConstructor(TargetServiceDefinition, 'binhost.agent.v1.TargetService') as unknown as typeof TargetServiceClient;

/** The TargetService client of {@link TargetServiceDefinition}: same methods as the generated one. */
export function createTargetServiceClient(address: string, credentials: ChannelCredentials, options?: ChannelOptions): TargetServiceClient {
  return new TargetServiceWireClient(address, credentials, options);
}

function varintLength(value: bigint): number {
  assertUint64(value);
  let n = 1;
  for (let v = value >> 7n; v > 0n; v >>= 7n) n++;
  return n;
}

function writeVarint(out: Buffer, pos: number, value: bigint): number {
  let v = value;
  while (v >= 0x80n) {
    out[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[pos++] = Number(v);
  return pos;
}

function assertUint64(value: bigint): void {
  if (value < 0n || BigInt.asUintN(64, value) !== value) throw new RangeError(`${value} does not fit a uint64 field`);
}

interface Reader {
  buf: Buffer;
  pos: number;
}

function readVarint(r: Reader): bigint {
  let value = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (r.pos >= r.buf.length) throw new FetchFileDecodeError('FetchFileResponse ends inside a varint');
    const byte = r.buf[r.pos++]!;
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return BigInt.asUintN(64, value);
  }
  throw new FetchFileDecodeError('FetchFileResponse has a varint longer than 10 bytes');
}

function readLengthDelimited(r: Reader): Buffer {
  const length = Number(readVarint(r));
  if (length > r.buf.length - r.pos) throw new FetchFileDecodeError(`FetchFileResponse field of ${length} bytes overruns the message`);
  const view = r.buf.subarray(r.pos, r.pos + length);
  r.pos += length;
  return view;
}

function skipField(r: Reader, wire: number): void {
  if (wire === 0) readVarint(r);
  else if (wire === 2) readLengthDelimited(r);
  else if (wire === 1 || wire === 5) {
    r.pos += wire === 1 ? 8 : 4;
    if (r.pos > r.buf.length) throw new FetchFileDecodeError('FetchFileResponse ends inside a fixed-size field');
  } else throw new FetchFileDecodeError(`FetchFileResponse has a field of wire type ${wire}`);
}
