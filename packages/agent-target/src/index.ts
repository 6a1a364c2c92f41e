/** @binhost/agent-target: the target agent, for main.ts, tests and benchmarks. */
export { TargetDaemon, AGENT_VERSION, type TargetDaemonOptions } from './daemon.js';
export { HostConnection, type HostConnectionOptions } from './connection/host-connection.js';
export { StateReporter } from './connection/state-reporter.js';
export { Delivery, type DeliveryOptions } from './sync/delivery.js';
export { MirrorStore, type MirroredSnapshot } from './sync/mirror-store.js';
export { Mirror, type MirrorOptions, type MirrorResult } from './sync/mirror.js';
export { MirrorServer } from './sync/mirror-server.js';
export { grpcSnapshotSource, type SnapshotSource } from './sync/snapshot-source.js';
export { mirrorEntries, IndexRefusedError, type MirrorEntry } from './sync/index-entries.js';
export { MirrorDiskFullError, VerificationError } from './sync/file-fetch.js';
export { openAppendWriter, type FileWriter, type OpenWriter } from './sync/file-writer.js';
export { spawnRunner, type CommandRunner, type CommandSpec, type CommandResult } from './exec/command-runner.js';
export { writeBinreposEntry, binreposSection } from './sync/binrepos-entry.js';
export { installSigningKey } from './sync/keyring.js';
export { parsePlan } from './sync/plan.js';
