// What the S3 SDK's failures mean for a replica, as one line each.
import { ReplicaError } from './errors.js';

interface SdkFailure {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIALS_FIX = 'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role';
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'TimeoutError', 'RequestTimeout']);

/** The errno-like code of a network failure anywhere in `e`'s cause chain, or ''. */
function networkCode(e: unknown): string {
  for (let c: unknown = e, depth = 0; c !== null && typeof c === 'object' && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const f = c as SdkFailure;
    for (const v of [f.code, f.name]) if (v !== undefined && NETWORK.has(v)) return v;
    // AggregateError (happy eyeballs: one failure per address)
    const errors = (c as { errors?: unknown[] }).errors;
    if (Array.isArray(errors)) for (const inner of errors) if (networkCode(inner) !== '') return networkCode(inner);
  }
  return '';
}

/**
 * Translates an SDK error for operation `op` on `key` of replica `url`
 * (S3 error codes: Amazon S3 API Reference, "Error responses").
 */
export function s3Failure(e: unknown, url: string, op: string, key: string): ReplicaError {
  if (e instanceof ReplicaError) return e;
  const f = (e ?? {}) as SdkFailure;
  const status = f.$metadata?.httpStatusCode;
  const name = f.name ?? f.code ?? 'Error';
  const where = key === '' ? `replica ${url}` : `replica ${url}, object ${key}`;
  const opts = { key, cause: e };
  if (status === 412 || name === 'PreconditionFailed') return new ReplicaError('EXISTS', `${where} already exists (${op} refused with 412)`, { ...opts, hint: 'another writer created it' });
  if (name === 'NoSuchBucket') return new ReplicaError('NOT_FOUND', `${where}: the bucket does not exist`, { ...opts, hint: 'create it or fix the URL' });
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return new ReplicaError('NOT_FOUND', `${where} does not exist (${op})`, { ...opts, hint: 'it was deleted or never written' });
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(f.message ?? '')) {
    return new ReplicaError('ACCESS', `${where}: no credentials found`, { ...opts, hint: CREDENTIALS_FIX });
  }
  if (status === 403 || status === 401 || ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken'].includes(name)) {
    return new ReplicaError('ACCESS', `${where}: the server refused the credentials (${op}: ${name})`, { ...opts, hint: CREDENTIALS_FIX });
  }
  if (/region is missing/i.test(f.message ?? '')) return new ReplicaError('BAD_URL', `${where}: no region`, { ...opts, hint: 'set AWS_REGION or the replica\'s region', option: 'replica.region' });
  if (name === 'BadDigest' || name === 'InvalidDigest') {
    return new ReplicaError('INTEGRITY', `${where}: the server received other bytes than were sent (${op}: ${name})`, { ...opts, hint: 'it will be uploaded again', retryable: true });
  }
  const net = networkCode(e);
  if (net !== '') return new ReplicaError('UNREACHABLE', `${where}: the endpoint does not answer (${op}: ${net})`, { ...opts, hint: 'check that the server runs and the replica\'s endpoint', option: 'replica.endpoint' });
  const detail = status === undefined ? (f.message ?? name).split('\n')[0] : `HTTP ${status} ${name}`;
  return new ReplicaError('IO', `${where}: ${op} failed (${detail})`, { ...opts, hint: 'it is retried; check the server if it persists', retryable: status === undefined || status >= 500 || status === 429 });
}
