// Replication of generations to object storage (S3-compatible, or a directory) and back.
export { ReplicaError, failureLine, isReplicaError, type ReplicaErrorCode, type ReplicaErrorOptions } from './errors.js';
export { ShmHostError, type ShmHostErrorOptions } from '../errors.js';
export { parseReplicaUrl, type ReplicaLocation } from './url.js';
export type { ReplicaClient, ObjectInfo, ObjectReader, PutResult, PutSource } from './client.js';
export { S3ReplicaClient, DEFAULT_PART_SIZE, type S3ReplicaOptions } from './s3-client.js';
export { FileReplicaClient } from './file-client.js';
export { openReplicaClient, type ReplicaClientOptions } from './open.js';
export type { LocalGeneration, LocalGenerationFile, GenerationSource } from './generation.js';
export { Replicator } from './replicator.js';
export type { ReplicatorOptions } from './replicator-options.js';
export type { ReplicaStatus, ReplicaEvent } from './status.js';
export type { LeaseIdentity, LeaseHolder } from './lease.js';
export type { RemoteGeneration, RemoteFile } from './record.js';
export type { RemoteRetention } from './retention.js';
export { listRemote, chainOf, remoteRows, type RemoteListing, type RemoteRow } from './remote.js';
export { restoreFromReplica, type RestoreOptions, type RestoreResult } from './restore.js';
export { describeStoreGeneration, storeGenerationSource, verifyStoreGeneration } from './store-source.js';
export { localRestoreState, type LocalRestoreState } from './restore-dir.js';
