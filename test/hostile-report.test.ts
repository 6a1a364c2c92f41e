import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { loadPackageDefinition, Metadata, status, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  callUnary,
  clientChannelOptions,
  clientCredentials,
  FileKind,
  MAX_HOST_RECEIVE_BYTES,
  MAX_REPORT_BYTES,
  MAX_REPORT_ENTRIES,
  ReportStateRequest,
  ReportStateResponse,
  stateDigest,
  TargetState,
  type FileEntry,
  type NativeFlags,
} from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import { clientsFor } from './helpers/clients.js';
import { captureLog } from './helpers/capture-log.js';
import { treeSnapshot } from './helpers/tree-snapshot.js';
import { waitFor } from './helpers/wait-for.js';

const require = createRequire(import.meta.url);
const REPORT_STATE = '/binhost.agent.v1.TargetService/ReportState';

const makeConf: FileEntry = { path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from('CFLAGS="-O2 -march=native"\n'), linkTarget: '' };
const native: NativeFlags = { known: true, march: 'znver3', mtune: 'znver3', featureFlags: ['-mmmx', '-mavx2', '-mno-xop'], params: ['--param=l1-cache-size=48'], compiler: 'gcc', error: '' };

/** A report as mallory's real agent would send it, with `over` and `flags` changed; the digest matches its files. */
function report(over: Partial<TargetState> = {}, flags: Partial<NativeFlags> = {}): TargetState {
  const files = over.files ?? [makeConf];
  return TargetState.fromPartial({
    profile: 'default/linux/amd64/23.0',
    chost: 'x86_64-pc-linux-gnu',
    gccVersion: '12.2.0',
    hostname: 'mallory',
    arch: 'amd64',
    cpuFlagsX86: ['aes', 'avx2', 'sse4_2'],
    nativeFlags: { ...native, ...flags },
    ...over,
    files,
    digest: stateDigest(files),
  });
}

/**
 * The wire bytes of a report with `n` entries (27 bytes each: `etc/portage/p/NNNNNNN`, an empty file),
 * written directly so that building it costs the test (which shares its event loop with the host)
 * tens of milliseconds, not the seconds the generated encoder takes for a million entries.
 */
function manyEntries(n: number): Buffer {
  const facts = Buffer.from(TargetState.encode(report({ files: [] })).finish());
  const entries = Buffer.alloc(n * 27);
  for (let i = 0, at = 0; i < n; i++, at += 27) {
    entries[at] = 0x12; // TargetState.files (2), length-delimited
    entries[at + 1] = 25;
    entries[at + 2] = 0x0a; // FileEntry.path (1)
    entries[at + 3] = 21;
    entries.write(`etc/portage/p/${String(i).padStart(7, '0')}`, at + 4, 'latin1');
    entries[at + 25] = 0x10; // FileEntry.kind (2)
    entries[at + 26] = FileKind.FILE_KIND_REGULAR;
  }
  const state = Buffer.concat([facts, entries]);
  return Buffer.concat([Buffer.from([0x0a]), varint(state.length), state]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

async function refusal(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the host accepted a report it should have refused');
}

describe('a hostile target reporting its state', () => {
  const h = useHarness();
  let host: StartedHost;
  let logs: ReturnType<typeof captureLog>;
  let mallory: Awaited<ReturnType<typeof clientsFor>>;
  let before: Record<string, string>;

  beforeEach(async () => {
    logs = captureLog('info');
    host = await h.startHost({ log: logs.log });
    // a valid target certificate, registered, with one good report stored: what it sends next must change nothing
    mallory = await clientsFor(h.pki, host.address, 'target', 'mallory');
    await callUnary(mallory.target.register.bind(mallory.target), { agentVersion: 't', hostname: 'mallory', lastReportedDigest: '', installedSnapshotId: 0 });
    const good = await callUnary(mallory.target.reportState.bind(mallory.target), { state: report() });
    expect(good).toEqual({ digest: report().digest, changed: true });
    // the good report's automatic build is refused (mallory has no root): let that record settle
    await waitFor(() => host.daemon.registry.get('mallory').lastError.includes('does not exist'), { what: 'the auto-build refusal' });
    await host.daemon.registry.flush();
    before = await treeSnapshot(host.stateDir);
    expect(Object.keys(before)).toContain('targets/mallory/state.bin');
  });
  afterEach(async () => {
    mallory.close();
  });

  const send = (state: TargetState) => callUnary(mallory.target.reportState.bind(mallory.target), { state });
  /** Sends wire bytes as they are, as a hostile client can. */
  const sendRaw = (bytes: Buffer) =>
    new Promise<ReportStateResponse>((resolve, reject) => {
      mallory.target.makeUnaryRequest(REPORT_STATE, (b: Buffer) => b, (b: Buffer) => ReportStateResponse.decode(b), bytes, new Metadata(), { deadline: Date.now() + 60_000 }, (err, res) =>
        err ? reject(err) : resolve(res!),
      );
    });
  const expectNothingStored = async () => expect(await treeSnapshot(host.stateDir)).toEqual(before);

  it('refuses a -wrapper native flag, naming field and word, and stores nothing', async () => {
    const r = await refusal(send(report({}, { featureFlags: ['-mmmx', '-wrapper', '/tmp/evil'] })));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toBe('report refused: native_flags.feature_flags[1] "-wrapper": not a -m<feature> or -mno-<feature> word of [a-z0-9.-] (amd64/x86 grammar)');
    await expectNothingStored();
    expect(host.daemon.registry.currentDigest('mallory')).toBe(report().digest);
    expect(logs.lines().find((l) => l['msg'] === 'state report refused')).toMatchObject({ target: 'mallory', level: 40 });
  });

  it('refuses words with a quote or a newline, and a -fplugin or linker passthrough param, in any fact', async () => {
    const cases: [TargetState, RegExp][] = [
      [report({}, { march: 'znver3" -fplugin=/tmp/x.so "' }), /^report refused: native_flags\.march "znver3\\" -fplugin=\/tmp\/x\.so \\"": not a CPU name/],
      [report({ cpuFlagsX86: ['aes', 'avx2\n*/* USE: evil'] }), /^report refused: cpu_flags_x86\[1\] "avx2\\u\{a\}\*\/\* USE: evil": not a CPU_FLAGS_X86 word/],
      [report({}, { params: ['--param=l1-cache-size=48', '-Wl,-rpath,/tmp'] }), /^report refused: native_flags\.params\[1\] "-Wl,-rpath,\/tmp": not a --param/],
      [report({ profile: '../../../../etc' }), /^report refused: profile "\.\.\/\.\.\/\.\.\/\.\.\/etc": not a relative profile path/],
      [report({ chost: 'x86_64-pc-linux-gnu$(id)' }), /^report refused: chost "x86_64-pc-linux-gnu\$\(id\)": not a GNU triplet/],
    ];
    for (const [state, message] of cases) {
      const r = await refusal(send(state));
      expect(r.code).toBe(status.INVALID_ARGUMENT);
      expect(r.details).toMatch(message);
    }
    await expectNothingStored();
  });

  it('refuses a host name with a terminal escape, in a report and when registering', async () => {
    const r = await refusal(send(report({ hostname: 'mallory\u001b]0;owned\u0007' })));
    expect(r).toEqual({ code: status.INVALID_ARGUMENT, details: 'report refused: hostname "mallory\\u{1b}]0;owned\\u{7}": not a host name of [A-Za-z0-9_.-]' });
    const register = callUnary(mallory.target.register.bind(mallory.target), { agentVersion: 't', hostname: 'mallory\n', lastReportedDigest: '', installedSnapshotId: 0 });
    expect(await refusal(register)).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('hostname "mallory\\u{a}"') });
    await expectNothingStored();
  });

  it('refuses a report over MAX_REPORT_BYTES naming the limit, and one over the receive limit unread', async () => {
    const big = report({ files: [{ ...makeConf, content: Buffer.alloc(MAX_REPORT_BYTES, 0x23) }] });
    const bytes = Buffer.from(ReportStateRequest.encode({ state: big }).finish());
    expect(bytes.length).toBeGreaterThan(MAX_REPORT_BYTES);
    const r = await refusal(sendRaw(bytes));
    expect(r).toEqual({ code: status.INVALID_ARGUMENT, details: `report refused: ${bytes.length} bytes, over the limit MAX_REPORT_BYTES = ${MAX_REPORT_BYTES}` });
    // past the host's receive limit grpc-js refuses it from its length prefix
    const huge = Buffer.concat([bytes, Buffer.alloc(MAX_HOST_RECEIVE_BYTES - bytes.length + 1)]);
    expect((await refusal(sendRaw(huge))).code).toBe(status.RESOURCE_EXHAUSTED);
    await expectNothingStored();
  });

  it('refuses a million-entry report naming MAX_REPORT_ENTRIES, answering health checks within 1 s meanwhile', async () => {
    const bytes = manyEntries(1_000_000);
    expect(bytes.length).toBeLessThan(MAX_REPORT_BYTES); // the entry count, not the size, refuses it
    const decoded = ReportStateRequest.decode(manyEntries(3));
    expect(decoded.state?.files.map((f) => [f.path, f.kind, f.content.length])).toEqual([0, 1, 2].map((i) => [`etc/portage/p/000000${i}`, FileKind.FILE_KIND_REGULAR, 0]));

    const health = await healthClient();
    try {
      const check = () => callUnary<{ service: string }, { status: string }>((health as any).check.bind(health), { service: '' }, { deadlineMs: 30_000 });
      await check(); // connected before the clock starts
      let done = false;
      const hostile = refusal(sendRaw(bytes)).finally(() => (done = true));
      const latencies: number[] = [];
      while (!done || latencies.length < 3) {
        const start = performance.now();
        expect((await check()).status).toBe('SERVING');
        latencies.push(performance.now() - start);
      }
      const r = await hostile;
      expect(r).toEqual({ code: status.INVALID_ARGUMENT, details: `report refused: more than ${MAX_REPORT_ENTRIES} entries, over the limit MAX_REPORT_ENTRIES = ${MAX_REPORT_ENTRIES}` });
      expect(Math.max(...latencies)).toBeLessThan(1000);
    } finally {
      health.close();
    }
    await expectNothingStored();
  });

  /** A grpc.health.v1 client, as a load balancer or systemd watchdog script would use. */
  async function healthClient() {
    const def = loadPackageDefinition(protoLoader.loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), { enums: String })) as GrpcObject;
    const Health = (((def['grpc'] as GrpcObject)['health'] as GrpcObject)['v1'] as GrpcObject)['Health'] as ServiceClientConstructor;
    const f = await h.pki.files('admin', 'probe');
    const creds = clientCredentials({ ca: await readFile(f.ca), cert: await readFile(f.cert), key: await readFile(f.key) });
    return new Health(host.address, creds, clientChannelOptions({ serverName: TEST_SERVER_NAME }));
  }
});
