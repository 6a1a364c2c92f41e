import { describe, it, expect } from 'vitest';
import { SpawnCommandRunner } from './run-command.js';
import { ExecError } from './exec-error.js';

describe('SpawnCommandRunner', () => {
  const runner = new SpawnCommandRunner();

  it('passes argv without a shell and streams lines', async () => {
    const lines: string[] = [];
    const r = await runner.run({ file: 'printf', args: ['%s\\n', 'a b', '$HOME;x'], onStdoutLine: (l) => lines.push(l) });
    expect(lines).toEqual(['a b', '$HOME;x']);
    expect(r.exitCode).toBe(0);
  });

  it('throws ExecError with exit code and a bounded stderr tail', async () => {
    const err = await runner
      .run({ file: 'sh', args: ['-c', 'for i in 1 2 3 4 5; do echo e$i >&2; done; exit 3'], tailLines: 2 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    const e = err as ExecError;
    expect(e.exitCode).toBe(3);
    expect(e.stderrTail).toEqual(['e4', 'e5']);
    expect(e.argv[0]).toBe('sh');
    expect(e.message).toContain('exited with 3: e5');
  });

  it('passes env and stdin, and returns non-zero results with check off', async () => {
    const r = await runner.run({ file: 'sh', args: ['-c', 'cat; echo $FOO; exit 4'], env: { FOO: 'bar', PATH: process.env['PATH'] }, input: 'in\n', check: false });
    expect(r.exitCode).toBe(4);
    expect(r.tail).toEqual(['in', 'bar']);
  });

  it('reports a missing program as ExecError that could not start', async () => {
    const err = (await runner.run({ file: '/nonexistent/prog', args: [] }).catch((e: unknown) => e)) as ExecError;
    expect(err).toBeInstanceOf(ExecError);
    expect(err.exitCode).toBeNull();
    expect(err.message).toContain('ENOENT');
  });

  it('kills the process group on abort and reports the signal', async () => {
    const ac = new AbortController();
    const p = runner.run({ file: 'sh', args: ['-c', 'echo started; sleep 30 & wait'], detached: true, signal: ac.signal, onStdoutLine: () => ac.abort() });
    const err = (await p.catch((e: unknown) => e)) as ExecError;
    expect(err).toBeInstanceOf(ExecError);
    expect(err.signal).toBe('SIGTERM');
  });
});
