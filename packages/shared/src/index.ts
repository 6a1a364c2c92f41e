/**
 * @binhost/shared: what the host agent, the target agent and the CLI have in common. Curated:
 * each module lists what the other packages use (npm run lint finds exports nobody imports).
 */
export { FileKind, FileEntry, NativeFlags, TargetState, DigestRecord, BuildKind, BuildStatus, Build, PackageBuildStats, Snapshot, RepoRevision, InstallPolicy, PlannedPackage, InstallPlan, InstallOutcome, InstallResult, TransferProgress, ConfigRewrite, AppliedConfig, DistccStats, buildStatusToJSON, buildKindToJSON, installPolicyToJSON, installPolicyFromJSON, installOutcomeToJSON, TargetServiceService, TargetServiceClient, RegisterResponse, ReportStateRequest, ReportStateResponse, OpenEventsResponse, SyncRequest, SigningKey, GetPublicationRequest, GetPublicationResponse, FetchFileRequest, FetchFileResponse, FileDigest, StreamActivityRequest, AdminServiceService, AdminServiceClient, TargetSummary, GetTargetResponse, MarchSummary, DiffTargetRequest, DiffTargetResponse, FileChange, FileDiff, fileChangeToJSON, AddTargetHeader, AddTargetRequest, AddTargetResponse, RemoveTargetRequest, RemoveTargetResponse, SetInstallPolicyRequest, ListBuildsRequest, ListBuildsResponse, TriggerBuildRequest, TriggerBuildResponse, CancelBuildRequest, CancelBuildResponse, FollowBuildLogRequest, FollowBuildLogResponse, ListSnapshotsRequest, ListSnapshotsResponse, PublishSnapshotRequest, PublishSnapshotResponse, TriggerSyncRequest, TriggerSyncResponse, EmergeRequest, EmergeResponse, GetDiskUsageRequest, GetDiskUsageResponse, RootDiskUsage, CollectGarbageRequest, CollectGarbageResponse, RootGarbageResult } from './api.js';
export { AgentError, ConfigError, bindError, PermissionDeniedError, NotFoundError, InvalidArgumentError, FailedPreconditionError, errorMessage, errnoCode } from './errors.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export { atomicWrite } from './fs/atomic-write.js';
export { DEFAULT_PATHS } from './config/paths.js';
export { loadHostConfig, type HostConfig } from './config/host-config.js';
export { distccFor, type DistccSettings, type DistccConfig } from './config/distcc-config.js';
export { describeDistcc } from './distcc-text.js';
export { loadTargetConfig, type InstallPolicyName, type TargetConfig } from './config/target-config.js';
export { loadAdminConfig } from './config/admin-config.js';
export { ROLES, isValidName, assertValidName, identityFromSubject, formatIdentity, type Role, type Identity } from './pki/identity.js';
export { createCa, issueCertificate, describeCertificate, type CertifiedKey } from './pki/certificates.js';
export { pkiPaths, writeCertifiedKey, readCa } from './pki/pki-store.js';
export { readTlsFiles, type TlsFiles, type TlsMaterial } from './grpc/tls-files.js';
export { TLS_HANDSHAKE_TIMEOUT_MS, serverCredentials, clientCredentials, clientChannelOptions, MAX_MESSAGE_BYTES } from './grpc/credentials.js';
export { toStatus, isStatus, isServiceError, RETRYABLE } from './grpc/status.js';
export { adaptService, type CallContext, type Handlers } from './grpc/handlers.js';
export { callUnary, callServerStream, callClientStream } from './grpc/client-calls.js';
export { EncodedFetchFileChunk, TargetServiceDefinition, createTargetServiceClient } from './grpc/fetch-file-codec.js';
export { encodeBulkRequest, decodeBulkRequest, encodeBulkHeader, encodeBulkError, decodeBulkHeader, SocketReader } from './grpc/bulk-protocol.js';
export { BULK_ALPN, listenShared, parseListenAddress, type SharedListener } from './grpc/shared-listener.js';
export { AsyncQueue } from './util/async-queue.js';
export { backoffDelay, sleep, type BackoffOptions } from './util/backoff.js';
export { stateDigest, stateDigestAsync, isExcludedPath } from './state/digest.js';
export { lockStateDir, type StateDirLock } from './state/state-dir-lock.js';
export { addIntrospection } from './grpc/introspection.js';
export { assertSafeRelativePath } from './fs/safe-path.js';
export { EXIT, UsageError, runMain } from './lifecycle.js';
export { parsePackagesIndex, serializePackagesIndex, indexValue, type IndexEntry, type PackagesIndex } from './portage/packages-index.js';
export { MakeConfSyntaxError, escapeForDoubleQuotes, referencedNames, tokenizeMakeConf, makeConfValues, type Assignment, type Statement } from './portage/make-conf.js';
export { readReposConf, readRepoRevision, collectRepoRevisions } from './portage/repo-revisions.js';
export { ExecError } from './exec/exec-error.js';
export { startCommand, SpawnCommandRunner, runCommand, type CommandSpec, type CommandRunner } from './exec/run-command.js';
export { findProgram } from './exec/find-program.js';
export { createConfigReloader } from './config/config-reloader.js';
export { openKeyringToPortage } from './portage/verify-keyring.js';
export { reportKey, reportSendKey } from './state/report-key.js';
export { emptyProgress, stripAnsi, parseEmergeLine, type EmergeProgress } from './portage/emerge-progress.js';
export { findEmergeFailure, describeEmergeFailure, explainEmergeFailure, type EmergeFailure } from './portage/emerge-failure.js';
export { NATIVE_ARGS, parseCc1Line, fromNativeFlags, marchReplacement, mtuneReplacement, missingOnHost, type ResolvedNative } from './portage/native-flags.js';
export { runDaemonMain } from './daemon-main.js';
export { ReportedFactError, assertReportedFacts, assertReportedHostname, escapeControlChars } from './portage/reported-facts.js';
export { MAX_REPORT_ENTRIES, MAX_REPORT_BYTES, MAX_HOST_RECEIVE_BYTES, reportRefusal } from './state/report-limits.js';
export { packageVersion } from './version.js';
export { describeSkew, targetTreeOlder } from './portage/repo-skew.js';
