import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FetchFileResponse, TargetServiceService } from '../api.js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { deserializeFetchFileResponse, EncodedFetchFileChunk, FetchFileDecodeError, TargetServiceDefinition, serializeFetchFileResponse } from './fetch-file-codec.js';
import { deserializeReportStateRequest } from '../state/report-limits.js';

const generated = (m: FetchFileResponse) => Buffer.from(FetchFileResponse.encode(m).finish());

describe('serializeFetchFileResponse', () => {
  const cases: [string, FetchFileResponse][] = [
    ['a first chunk', { offset: 0n, data: randomBytes(256 * 1024), totalSize: 5n * 1024n ** 3n }],
    ['a middle chunk', { offset: 262_144n, data: randomBytes(1000), totalSize: 300_000n }],
    ['the end-of-file marker (no data)', { offset: 300_000n, data: Buffer.alloc(0), totalSize: 300_000n }],
    ['an empty file', { offset: 0n, data: Buffer.alloc(0), totalSize: 0n }],
    ['one-byte lengths at varint edges', { offset: 127n, data: randomBytes(128), totalSize: 16_384n }],
    ['the largest uint64', { offset: 2n ** 64n - 1n, data: randomBytes(1), totalSize: 2n ** 63n }],
  ];
  it.each(cases)('writes the same bytes as the generated encoder: %s', (_name, message) => {
    const ours = serializeFetchFileResponse(message);
    expect(ours.equals(generated(message))).toBe(true);
    for (const back of [FetchFileResponse.decode(ours), deserializeFetchFileResponse(generated(message))]) {
      expect([back.offset, back.totalSize]).toEqual([message.offset, message.totalSize]);
      expect(Buffer.from(back.data).equals(Buffer.from(message.data))).toBe(true);
    }
  });

  it.each(cases.filter(([, m]) => m.data.length > 0))('an EncodedFetchFileChunk filled in place is sent as is, the same bytes: %s', (_name, message) => {
    const chunk = new EncodedFetchFileChunk(message.offset, message.data.length, message.totalSize);
    chunk.data.set(message.data);
    const wire = serializeFetchFileResponse(chunk);
    expect(wire).toBe(chunk.encoded);
    expect(wire.equals(generated(message))).toBe(true);
  });

  it('refuses a value that does not fit a uint64 field', () => {
    expect(() => serializeFetchFileResponse({ offset: -1n, data: Buffer.alloc(0), totalSize: 0n })).toThrow(/uint64/);
    expect(() => serializeFetchFileResponse({ offset: 0n, data: Buffer.alloc(0), totalSize: 2n ** 64n })).toThrow(/uint64/);
  });

  it('decodes data as a view of the message (no copy) and skips unknown fields', () => {
    const data = randomBytes(4096);
    const w = new BinaryWriter();
    w.uint32(8).uint64(4096n); // offset
    w.uint32(7 * 8 + 2).bytes(Buffer.from('a future field')); // unknown, length-delimited
    w.uint32(18).bytes(data);
    w.uint32(9 * 8 + 5).fixed32(7); // unknown, fixed32
    w.uint32(24).uint64(8192n);
    const wire = Buffer.from(w.finish());
    const back = deserializeFetchFileResponse(wire);
    expect(back.offset).toBe(4096n);
    expect(back.totalSize).toBe(8192n);
    expect(Buffer.from(back.data).equals(data)).toBe(true);
    expect(back.data.buffer).toBe(wire.buffer);
  });

  it('refuses truncated or malformed messages with a decode error', () => {
    const whole = serializeFetchFileResponse({ offset: 300n, data: randomBytes(100), totalSize: 1000n });
    expect(() => deserializeFetchFileResponse(whole.subarray(0, whole.length - 60))).toThrow(FetchFileDecodeError);
    expect(() => deserializeFetchFileResponse(Buffer.from([0x08, 0x80]))).toThrow(/inside a varint/);
    expect(() => deserializeFetchFileResponse(Buffer.from([0x0b]))).toThrow(/wire type 3/);
  });

  it('is the FetchFile codec of the wire definition, and only that and the ReportState request decoder are replaced', () => {
    expect(TargetServiceDefinition.fetchFile.responseSerialize).toBe(serializeFetchFileResponse);
    expect(TargetServiceDefinition.fetchFile.responseDeserialize).toBe(deserializeFetchFileResponse);
    expect(TargetServiceDefinition.fetchFile.path).toBe('/binhost.agent.v1.TargetService/FetchFile');
    expect(TargetServiceDefinition.reportState.requestDeserialize).toBe(deserializeReportStateRequest);
    expect(TargetServiceDefinition.reportState.requestSerialize).toBe(TargetServiceService.reportState.requestSerialize);
    for (const [name, method] of Object.entries(TargetServiceDefinition)) {
      if (name !== 'fetchFile' && name !== 'reportState') expect(method).toBe(TargetServiceService[name as keyof typeof TargetServiceService]);
    }
  });
});
