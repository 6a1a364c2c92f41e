import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { open, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { waitFor } from './wait-for.js';

/** A real distccd (Debian distcc) on a loopback port, as a helper machine runs it. */
export interface Distccd {
  port: number;
  /** `127.0.0.1:PORT/LIMIT`, one DISTCC_HOSTS word. */
  host: string;
  /** distccd's own log (its stderr): one `dcc_job_summary` line per compile it ran. */
  log(): Promise<string>;
  /** The compile jobs distccd ran (COMPILE_OK job summaries), by source file name. */
  jobs(): Promise<string[]>;
  stop(): Promise<void>;
}

/** A port that nothing listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts `distccd --no-detach --daemon` on 127.0.0.1. As root distccd drops to its own user, which
 * could not open a log file in a test's 0700 temp dir: it logs to stderr (--log-stderr), which
 * this process writes to `logFile`. Stopped by its process group (we started it, in a group of its own).
 */
export async function startDistccd(logFile: string, limit = 2): Promise<Distccd> {
  const port = await freePort();
  const out = await open(logFile, 'w');
  const args = ['--daemon', '--no-detach', '--log-stderr', '--log-level', 'info', '--listen', '127.0.0.1', '--allow', '127.0.0.1', '--port', String(port), '--jobs', String(limit)];
  // its own process group: on SIGTERM distccd's parent signals its whole group (kill(0, …)) to stop
  // its preforked children, which must not reach the test runner
  const child: ChildProcess = spawn('distccd', args, { stdio: ['ignore', 'ignore', out.fd], detached: true });
  const log = () => readFile(logFile, 'utf8');
  await waitFor(async () => (await log()).includes('listening on'), { what: `distccd on port ${port}`, timeoutMs: 10_000 });
  return {
    port,
    host: `127.0.0.1:${port}/${limit}`,
    log,
    async jobs() {
      return [...(await log()).matchAll(/dcc_job_summary\) client: \S+ COMPILE_OK .* (\S+\.c)$/gm)].map((m) => m[1]!);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        process.kill(-child.pid!, 'SIGTERM');
        await exited;
      }
      await out.close();
    },
  };
}
