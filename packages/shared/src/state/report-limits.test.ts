import { describe, expect, it } from 'vitest';
import { FileKind, ReportStateRequest, TargetState, type FileEntry } from '../api.js';
import { stateDigest } from './digest.js';
import {
  countReport,
  deserializeReportStateRequest,
  MAX_HOST_RECEIVE_BYTES,
  MAX_REPORT_BYTES,
  MAX_REPORT_ENTRIES,
  MAX_REPORT_WARNINGS,
  ReportLimitError,
  reportRefusal,
} from './report-limits.js';

const file = (path: string, content: string | Buffer): FileEntry => ({ path, kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(content), linkTarget: '' });

/** An encoded ReportStateRequest with `n` files (and `warnings` warnings). */
function encoded(n: number, options: { warnings?: number; content?: Buffer } = {}): Buffer {
  const files = Array.from({ length: n }, (_, i) => file(`etc/portage/package.use/f${i}`, options.content ?? 'x\n'));
  const state = TargetState.fromPartial({
    digest: stateDigest(files),
    files,
    hostname: 'alpha',
    warnings: Array.from({ length: options.warnings ?? 0 }, (_, i) => `w${i}`),
    nativeFlags: { known: true, march: 'znver3', featureFlags: ['-mavx2'] },
  });
  return Buffer.from(ReportStateRequest.encode({ state }).finish());
}

describe('report limits', () => {
  it('counts entries and warnings from the wire bytes, as the decoder would see them', () => {
    const bytes = encoded(123, { warnings: 7 });
    expect(countReport(bytes)).toEqual({ bytes: bytes.length, entries: 123, warnings: 7 });
    expect(countReport(Buffer.alloc(0))).toEqual({ bytes: 0, entries: 0, warnings: 0 });
    // a second `state` field is merged by protobuf decoders: its entries count too
    const twice = Buffer.concat([encoded(10), encoded(5)]);
    expect(countReport(twice).entries).toBe(15);
  });

  it('decodes a report within the limits exactly as the generated decoder does', () => {
    const bytes = encoded(MAX_REPORT_ENTRIES, { warnings: 3 });
    const req = deserializeReportStateRequest(bytes);
    expect(reportRefusal(req)).toBeUndefined();
    expect(req).toEqual(ReportStateRequest.decode(bytes));
    expect(req.state?.files).toHaveLength(MAX_REPORT_ENTRIES);
  });

  it('refuses one entry over MAX_REPORT_ENTRIES without decoding, naming the limit', () => {
    const req = deserializeReportStateRequest(encoded(MAX_REPORT_ENTRIES + 1));
    expect(req.state).toBeUndefined();
    const err = reportRefusal(req);
    expect(err).toBeInstanceOf(ReportLimitError);
    expect(err?.code).toBe(3); // INVALID_ARGUMENT
    expect(err?.message).toBe(`report refused: more than ${MAX_REPORT_ENTRIES} entries, over the limit MAX_REPORT_ENTRIES = ${MAX_REPORT_ENTRIES}`);
  });

  it('refuses too many warnings, and a report over MAX_REPORT_BYTES, naming the limit', () => {
    expect(reportRefusal(deserializeReportStateRequest(encoded(1, { warnings: MAX_REPORT_WARNINGS + 1 })))?.limit).toBe('MAX_REPORT_WARNINGS');
    const big = encoded(2, { content: Buffer.alloc(MAX_REPORT_BYTES / 2, 0x61) });
    expect(big.length).toBeGreaterThan(MAX_REPORT_BYTES);
    expect(big.length).toBeLessThanOrEqual(MAX_HOST_RECEIVE_BYTES);
    const err = reportRefusal(deserializeReportStateRequest(big));
    expect(err?.limit).toBe('MAX_REPORT_BYTES');
    expect(err?.message).toBe(`report refused: ${big.length} bytes, over the limit MAX_REPORT_BYTES = ${MAX_REPORT_BYTES}`);
    // just at the limit is fine
    expect(reportRefusal(deserializeReportStateRequest(encoded(1, { content: Buffer.alloc(MAX_REPORT_BYTES - 200, 0x61) })))).toBeUndefined();
  });

  it('leaves malformed input to the decoder, which refuses it', () => {
    const bytes = encoded(3);
    expect(() => deserializeReportStateRequest(bytes.subarray(0, bytes.length - 4))).toThrow();
    expect(countReport(Buffer.from([0x0a, 0xff]))).toMatchObject({ entries: 0 });
  });
});
