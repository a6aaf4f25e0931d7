// Replication of generations to object storage (S3-compatible, or a directory) and back.
export { ReplicaError, isReplicaError, type ReplicaErrorCode } from './errors.js';
export { parseReplicaUrl, type ReplicaLocation } from './url.js';
export type { ReplicaClient, ObjectInfo, ObjectReader, PutResult, PutSource } from './client.js';
export { S3ReplicaClient, type S3ReplicaOptions } from './s3-client.js';
export { FileReplicaClient } from './file-client.js';
export { openReplicaClient, type ReplicaClientOptions } from './open.js';
