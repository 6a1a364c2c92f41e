import { status } from '@grpc/grpc-js';
import { AgentError, FailedPreconditionError, InvalidArgumentError } from '@binhost/shared';

/** A stage3 entry that would land outside the root (`..`, absolute, an escaping link), or a type we refuse. */
export class UnsafeArchiveEntryError extends InvalidArgumentError {
  override name = 'UnsafeArchiveEntryError';
  constructor(
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`stage3 entry ${JSON.stringify(entry.slice(0, 200))} refused: ${reason}`);
  }
}

/** The stage3's SHA-256 is not the one the caller gave. */
export class DigestMismatchError extends InvalidArgumentError {
  override name = 'DigestMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`stage3 sha256 mismatch: expected ${expected}, got ${actual}`);
  }
}

/** A root of that name already exists. */
export class RootExistsError extends AgentError {
  override name = 'RootExistsError';
  constructor(readonly root: string) {
    super(`root "${root}" already exists`, status.ALREADY_EXISTS);
  }
}

/** A target's make.conf (or env/*.conf) cannot be parsed: apply refused. Names file and line. */
export class MakeConfSyntaxError extends FailedPreconditionError {
  override name = 'MakeConfSyntaxError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

/** The target's profile is not in the host's repository: apply refused. */
export class ProfileMissingError extends FailedPreconditionError {
  override name = 'ProfileMissingError';
  constructor(
    readonly profile: string,
    readonly repository: string,
  ) {
    super(`profile "${profile}" not found in the host's repository ${repository}/profiles`);
  }
}
