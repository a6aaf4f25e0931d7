// From a replica URL to its client.
import type { ReplicaClient } from './client.js';
import { FileReplicaClient } from './file-client.js';
import { S3ReplicaClient, type S3ReplicaOptions } from './s3-client.js';
import { parseReplicaUrl } from './url.js';

/** Connection options of an s3:// replica (ignored for file://). */
export type ReplicaClientOptions = Partial<Pick<S3ReplicaOptions, 'endpoint' | 'region' | 'forcePathStyle' | 'partSize' | 'queueSize' | 'maxAttempts' | 'idleTimeoutMs'>>;

/**
 * The client of the replica `url` (`s3://BUCKET/PREFIX` or `file:///path`).
 * Makes no request: a wrong endpoint or credentials show on first use.
 * @throws ReplicaError BAD_URL.
 */
export function openReplicaClient(url: string, options: ReplicaClientOptions = {}): ReplicaClient {
  const location = parseReplicaUrl(url);
  if (location.kind === 'file') return new FileReplicaClient(location.path, url);
  const s3: S3ReplicaOptions = { bucket: location.bucket, prefix: location.prefix, url };
  for (const k of ['endpoint', 'region', 'forcePathStyle', 'partSize', 'queueSize', 'maxAttempts', 'idleTimeoutMs'] as const) {
    if (options[k] !== undefined) (s3 as unknown as Record<string, unknown>)[k] = options[k];
  }
  return new S3ReplicaClient(s3);
}
