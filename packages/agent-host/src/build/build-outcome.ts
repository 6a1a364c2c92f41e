import { BuildStatus, describeEmergeFailure } from '@binhost/shared';
import type { EmergeOutcome } from './emerge-build.js';

/** A build's final status and the error people read (CLI, target events, the record's lastError). */
export interface BuildVerdict {
  status: BuildStatus;
  exitCode: number;
  error: string;
}

/**
 * Turns how emerge ended into a verdict. Messages name what to fix: the command and config key
 * when emerge is missing, the failed package and phase (plus the last log line) when a build
 * failed, the lock file when another emerge holds the root.
 */
export function verdictOf(outcome: EmergeOutcome, command: readonly string[], tail: readonly string[], cancelReason: string): BuildVerdict {
  const exitCode = outcome.exitCode ?? -1;
  if (outcome.startError) {
    const program = command[0] ?? 'emerge';
    const why =
      outcome.startError.code === 'ENOENT'
        ? `emerge command "${program}" not found (set build.emerge in the host config to the emerge program)`
        : `emerge command "${program}" could not be started: ${outcome.startError.message} (config key build.emerge)`;
    return { status: BuildStatus.BUILD_STATUS_FAILED, exitCode, error: why };
  }
  if (outcome.cancelled) return { status: BuildStatus.BUILD_STATUS_CANCELLED, exitCode, error: `cancelled: ${cancelReason}` };
  if (outcome.lockedBy) {
    return {
      status: BuildStatus.BUILD_STATUS_FAILED,
      exitCode,
      error: `root locked: another emerge holds ${outcome.lockedBy}; build stopped, retry when it has finished`,
    };
  }
  if (outcome.exitCode === 0) return { status: BuildStatus.BUILD_STATUS_SUCCEEDED, exitCode: 0, error: '' };
  const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with ${outcome.exitCode}`;
  if (outcome.failure) return { status: BuildStatus.BUILD_STATUS_FAILED, exitCode, error: `${describeEmergeFailure(outcome.failure)} (emerge ${how})` };
  const what = outcome.progress.failure || 'emerge failed';
  const last = lastMeaningfulLine(tail);
  return { status: BuildStatus.BUILD_STATUS_FAILED, exitCode, error: `${what}: emerge ${how}${last ? ` (last line: ${last})` : ''}` };
}

function lastMeaningfulLine(tail: readonly string[]): string {
   
  const clean = tail.map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim()).filter((l) => l && l !== '*');
  return (clean.at(-1) ?? '').slice(0, 300);
}
