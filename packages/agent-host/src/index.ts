/** @binhost/agent-host: the host agent, for main.ts, tests and benchmarks. */
export { HostDaemon, type HostDaemonOptions } from './daemon.js';
export { EventHub } from './events/event-hub.js';
export { TargetRegistry } from './registry/target-registry.js';
export { RootManager, type RootManagerOptions, type Stage3Source, type CreatedRoot, type CreateRootOptions } from './root/root-manager.js';
export { UnsafeArchiveEntryError, DigestMismatchError, RootExistsError } from './root/root-errors.js';
export { HostLayout } from './layout.js';
export { assertInsideRoot } from './root/root-paths.js';
export { FsPublicationSource, entryPath, type Publication, type PublicationSource } from './delivery/publication-source.js';
export { ActivityHub, type ActivityItem } from './delivery/activity-hub.js';
export { InstallReports, differingPaths } from './delivery/install-reports.js';
export { FETCH_CHUNK_BYTES } from './rpc/fetch-file.js';
export { writeSnapshotDigests, SNAPSHOT_DIGESTS_FILE } from './publish/snapshot-digests.js';
export type { EmergeBuilder } from './rpc/emerge-relay.js';
export { HOST_LIVE_KEYS, applyHostConfig } from './reload.js';
export { distccEnv, makeJobs } from './distcc/distcc-env.js';
export { summarizeDistccLog } from './distcc/distcc-log.js';
