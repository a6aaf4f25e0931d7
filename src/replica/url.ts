// Replica URLs: `s3://BUCKET/PREFIX` and `file:///absolute/path`.
import { fileURLToPath } from 'node:url';
import { ReplicaError } from './errors.js';

/** Where a replica lives, as parsed from its URL. */
export type ReplicaLocation =
  | { kind: 's3'; bucket: string; prefix: string; url: string }
  | { kind: 'file'; path: string; url: string };

// S3 bucket naming rules (AWS S3 User Guide, "Bucket naming rules"): 3-63
// characters, lower-case letters, digits, dots and hyphens, starting and
// ending with a letter or digit. Ceph and MinIO accept the same.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const FIX = 'use s3://BUCKET/PREFIX or file:///absolute/path';

function bad(url: string, problem: string): ReplicaError {
  return new ReplicaError('BAD_URL', `replica URL ${JSON.stringify(url)} ${problem}`, { hint: FIX });
}

/**
 * Parses a replica URL. The prefix of an s3 URL is kept without leading or
 * trailing slashes ('' for the bucket's root); a file URL must be absolute
 * and have no host (`file:///srv/replica`).
 * @throws ReplicaError BAD_URL, one line naming the problem and the form to use.
 */
export function parseReplicaUrl(url: string): ReplicaLocation {
  const s3 = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url);
  if (s3) {
    const bucket = s3[1] ?? '';
    if (!BUCKET.test(bucket)) throw bad(url, `has no valid bucket name (3-63 characters: a-z, 0-9, '.', '-')`);
    const prefix = (s3[2] ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix.split('/').some((part) => part === '.' || part === '..' || (part === '' && prefix !== ''))) {
      throw bad(url, 'has an empty, "." or ".." part in its prefix');
    }
    return { kind: 's3', bucket, prefix, url };
  }
  if (url.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch {
      throw bad(url, 'is not an absolute file URL without a host');
    }
    return { kind: 'file', path: path.replace(/\/+$/, '') || '/', url };
  }
  throw bad(url, 'has an unknown scheme');
}
