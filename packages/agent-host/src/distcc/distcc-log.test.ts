import { describe, expect, it } from 'vitest';
import { describeDistcc, summarizeDistccLog } from './distcc-log.js';

// Lines as distcc 3.4 (Debian) wrote them with DISTCC_LOG set: a dead helper first in the list,
// one job on the live helper, a link and a preprocessing run (not compile jobs), and a compile
// error that the helper reported and that was retried locally.
const LOG = `distcc[7211] compile from a.c to a.o
distcc[7211] (dcc_gcc_rewrite_fqn) Re-writing call to 'gcc' to 'x86_64-linux-gnu-gcc' to support cross-compilation.
distcc[7211] exec on 127.0.0.1:36399/2: x86_64-linux-gnu-gcc -O2 -c a.c -o a.o
distcc[7211] ERROR: nonblocking connect to 127.0.0.1:36399 failed: Connection refused
distcc[7211] Warning: failed to distribute a.c to 127.0.0.1:36399/2, running locally instead
distcc[7211] exec on localhost: x86_64-linux-gnu-gcc -O2 -c a.c -o a.o
distcc[7211] compile a.c on localhost completed ok
distcc[7218] compile from b.c to b.o
distcc[7218] exec on 127.0.0.1:36321/2: x86_64-linux-gnu-gcc -O2 -c b.c -o b.o
distcc[7218] cpp b.c on localhost completed ok
distcc[7218] 146 bytes from b.c compiled on 127.0.0.1 in 0.0519s, rate 3kB/s
distcc[7218] compile b.c on 127.0.0.1:36321/2 completed ok
distcc[7222] (dcc_scan_args) called for link?  i give up
distcc[7222] exec on localhost: x86_64-linux-gnu-gcc -O2 m.c a.o b.o -o prog
distcc[7222] compile m.c on localhost completed ok
distcc[7241] exec on localhost: x86_64-linux-gnu-gcc -E a.c
distcc[7241] compile (null) on localhost completed ok
distcc[7234] compile from bad.c to bad.o
distcc[7234] exec on 127.0.0.1:36321/2: x86_64-linux-gnu-gcc -O2 -c bad.c -o bad.o
distcc[7234] ERROR: compile bad.c on 127.0.0.1:36321/2 failed
distcc[7234] (dcc_build_somewhere) Warning: remote compilation of 'bad.c' failed, retrying locally
distcc[7234] Warning: failed to distribute bad.c to 127.0.0.1:36321/2, running locally instead
distcc[7234] exec on localhost: x86_64-linux-gnu-gcc -O2 -c bad.c -o bad.o
distcc[7234] ERROR: compile bad.c on localhost failed
distcc[7250] compile from c.c to c.o
distcc[7250] (dcc_build_somewhere) Warning: failed to distribute, running locally instead
distcc[7250] compile c.c on localhost completed ok
`;

describe('summarizeDistccLog', () => {
  it('counts each compile job where distcc says it ran, and the helpers that could not be used', () => {
    const s = summarizeDistccLog(LOG, { hosts: '127.0.0.1:36399/2 127.0.0.1:36321/2', makeJobs: 4, pump: false });
    expect(s.helpers).toEqual([{ host: '127.0.0.1:36321', jobs: 1 }]);
    expect(s.localJobs).toBe(3);
    expect(s.fallbackJobs).toBe(3);
    expect(s.problems).toEqual([
      { host: '127.0.0.1:36399', reason: 'connection refused', count: 1 },
      { host: '127.0.0.1:36321', reason: 'compile failed there (retried here)', count: 1 },
    ]);
    expect(describeDistcc(s)).toBe(
      'distcc: 4 compile jobs: 1 on 127.0.0.1:36321, 3 here (3 fell back to local compiles); helper problems: 127.0.0.1:36399 connection refused, 127.0.0.1:36321 compile failed there (retried here)',
    );
  });

  it('reports pump mode that fell back to preprocessing here (as under Portage 3.0.83 on Debian)', () => {
    const log = [
      'distcc[25274] compile from main.c to main.o',
      'distcc[25274] (dcc_talk_to_include_server) Warning: include server gave up analyzing',
      'distcc[25274] (dcc_build_somewhere) Warning: failed to get includes from include server, preprocessing locally',
      'distcc[25274] compile main.c on 127.0.0.1:36555/2,cpp,lzo completed ok',
    ].join('\n');
    const s = summarizeDistccLog(log, { hosts: '127.0.0.1:36555/2,cpp,lzo', makeJobs: 4, pump: true });
    expect(s.helpers).toEqual([{ host: '127.0.0.1:36555', jobs: 1 }]);
    expect(s.problems).toEqual([{ host: 'pump include server', reason: 'not used, preprocessed here', count: 1 }]);
  });

  it('gives zeros for an empty log (no compile went through distcc)', () => {
    const s = summarizeDistccLog('', { hosts: 'h/2', makeJobs: 2, pump: false });
    expect(describeDistcc(s)).toBe('distcc: 0 compile jobs: 0 here');
  });
});

describe('helpersInBackoff', () => {
  it("names the helpers distcc's own backoff files hold back, until the period is over", async () => {
    const { helpersInBackoff } = await import('./distcc-log.js');
    const files = [
      { name: 'backoff_tcp_127.0.0.1_36399_0', mtimeMs: 1_000_000 },
      { name: 'backoff_tcp_10.0.0.3_3632_0', mtimeMs: 900_000 },
      { name: 'cpu_tcp_127.0.0.1_36321_0', mtimeMs: 1_000_000 },
    ];
    expect(helpersInBackoff(files, 60, 1_030_000)).toEqual(['127.0.0.1:36399']);
  });
});
