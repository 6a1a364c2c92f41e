import { InvalidArgumentError } from '../errors.js';
import { ReportStateRequest } from '../api.js';

/**
 * Most entries (files, directories, symlinks) one state report may carry. A large real
 * etc/portage — years of package.use/package.accept_keywords/env files, a local repos.conf and
 * patches in etc/portage/patches — has a few hundred to a few thousand entries; 20,000 is ten
 * times the largest we have seen, and small enough that counting, checking and hashing them
 * takes milliseconds. A million entries (about 27 MB on the wire) used to stall the host's event
 * loop, health checks included, for about 20 s.
 */
export const MAX_REPORT_ENTRIES = 20_000;

/**
 * Most bytes one encoded report (ReportStateRequest) may have. Real ones are a few hundred KiB to
 * a few MiB (the target already leaves out files over `report.max_file_bytes`, 1 MiB by default);
 * 32 MiB leaves room for a tree of large patches while bounding what the host decodes, hashes and
 * stores per report. Measured on the encoded message, which is also what the host stores.
 */
export const MAX_REPORT_BYTES = 32 * 1024 * 1024;

/**
 * Most warnings one report may carry: one per skipped path (FIFOs, unreadable or oversized files),
 * so no more than the entries themselves in any real tree.
 */
export const MAX_REPORT_WARNINGS = 20_000;

/**
 * The largest message the host reads at all (its gRPC `max_receive_message_length`): a report's
 * limit plus 1 MiB, so a report a little over {@link MAX_REPORT_BYTES} is still read and refused
 * naming that limit, and anything larger is refused by grpc-js from its length prefix, before it
 * is buffered. Other messages to the host are far smaller (stage3 uploads come in 1 MiB chunks).
 */
export const MAX_HOST_RECEIVE_BYTES = MAX_REPORT_BYTES + 1024 * 1024;

/** A report over one of the limits above. The message names the limit. */
export class ReportLimitError extends InvalidArgumentError {
  override name = 'ReportLimitError';
  constructor(
    /** 'MAX_REPORT_ENTRIES', 'MAX_REPORT_BYTES' or 'MAX_REPORT_WARNINGS'. */
    readonly limit: string,
    readonly max: number,
    /** "34603050 bytes", "more than 20000 entries" (counting stops past the limit). */
    detail: string,
  ) {
    super(`report refused: ${detail}, over the limit ${limit} = ${max}`);
  }
}

/** What {@link countReport} found without decoding. */
export interface ReportCounts {
  bytes: number;
  entries: number;
  warnings: number;
}

/**
 * Counts a ReportStateRequest's entries (TargetState field 2) and warnings (field 10) by walking
 * its wire format: tags and lengths only, nothing is decoded or copied. Counting stops once a count
 * passes its limit, so its cost is bounded by the limits, not by what the peer sent. Malformed
 * input ends the walk; the real decoder refuses it afterwards.
 */
export function countReport(message: Uint8Array): ReportCounts {
  const counts: ReportCounts = { bytes: message.length, entries: 0, warnings: 0 };
  // ReportStateRequest: field 1 is the state (a repeated field 1 is merged, so every one counts)
  walkFields(message, 0, message.length, (field, start, end) => {
    if (field !== 1) return true;
    return walkFields(message, start, end, (f) => {
      if (f === 2) counts.entries++;
      else if (f === 10) counts.warnings++;
      return counts.entries <= MAX_REPORT_ENTRIES && counts.warnings <= MAX_REPORT_WARNINGS;
    });
  });
  return counts;
}

/** The first limit `counts` breaks, as the error to refuse the report with. */
function reportLimitError(counts: ReportCounts): ReportLimitError | undefined {
  if (counts.bytes > MAX_REPORT_BYTES) return new ReportLimitError('MAX_REPORT_BYTES', MAX_REPORT_BYTES, `${counts.bytes} bytes`);
  if (counts.entries > MAX_REPORT_ENTRIES) return new ReportLimitError('MAX_REPORT_ENTRIES', MAX_REPORT_ENTRIES, `more than ${MAX_REPORT_ENTRIES} entries`);
  if (counts.warnings > MAX_REPORT_WARNINGS) return new ReportLimitError('MAX_REPORT_WARNINGS', MAX_REPORT_WARNINGS, `more than ${MAX_REPORT_WARNINGS} warnings`);
  return undefined;
}

const REFUSAL = Symbol('report refusal');
type Refused = ReportStateRequest & { [REFUSAL]?: ReportLimitError };

/**
 * The host's ReportState request decoder: a report over a limit is not decoded at all. grpc-js
 * turns an exception here into a generic INTERNAL, so the refusal travels in the request instead
 * (an empty one), for the handler to throw first ({@link reportRefusal}).
 */
export function deserializeReportStateRequest(message: Buffer): ReportStateRequest {
  const refusal = reportLimitError(countReport(message));
  if (refusal) return Object.assign({ state: undefined }, { [REFUSAL]: refusal });
  return ReportStateRequest.decode(message);
}

/** The limit a request broke when it was decoded, if it broke one. */
export function reportRefusal(request: ReportStateRequest): ReportLimitError | undefined {
  return (request as Refused)[REFUSAL];
}

/**
 * Calls `visit(field, start, end)` for each length-delimited field in `buf[pos, end)` and skips the
 * others; stops when `visit` returns false or the bytes are malformed. Returns false if stopped.
 */
function walkFields(buf: Uint8Array, pos: number, end: number, visit: (field: number, start: number, end: number) => boolean): boolean {
  const at = { pos };
  while (at.pos < end) {
    const tag = readVarint(buf, at, end);
    if (tag === undefined) return false;
    const wire = tag % 8;
    let next: number;
    if (wire === 0) {
      if (readVarint(buf, at, end) === undefined) return false;
      continue;
    } else if (wire === 1) next = at.pos + 8;
    else if (wire === 5) next = at.pos + 4;
    else if (wire === 2) {
      const length = readVarint(buf, at, end);
      if (length === undefined) return false;
      next = at.pos + length;
      if (next > end) return false;
      if (!visit(Math.floor(tag / 8), at.pos, next)) return false;
    } else return false; // groups (3, 4) are not in our schema; 6 and 7 are invalid
    if (next > end) return false;
    at.pos = next;
  }
  return true;
}

/** A varint of up to 53 bits (lengths and tags), or undefined when it runs past `end` or is longer. */
function readVarint(buf: Uint8Array, at: { pos: number }, end: number): number | undefined {
  let value = 0;
  for (let shift = 1, i = 0; i < 8 && at.pos < end; i++, shift *= 128) {
    const byte = buf[at.pos++]!;
    value += (byte & 0x7f) * shift;
    if (byte < 0x80) return value;
  }
  return undefined;
}
