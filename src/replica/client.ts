// The small interface every replica backend implements. Everything above it
// (the replicator, the lease, retention, restore) knows no backend.
//
// Keys are relative to the replica's root (the URL's prefix or directory),
// '/'-separated, without empty, '.' or '..' parts. Objects are immutable by
// convention: a key is written once (a retry writes the same bytes again)
// and deleted once; only the lease object is replaced.

/** One object as listed. `bytes` is its size in bytes, `modified` its last write. */
export interface ObjectInfo {
  key: string;
  bytes: number;
  modified: Date;
}

/**
 * What to upload: a file's contents (read from the start to its end; with
 * `runs`, only those byte ranges [from, to), in order, concatenated) or
 * bytes in memory.
 */
export type PutSource = { path: string; runs?: ReadonlyArray<readonly [number, number]> } | { bytes: Uint8Array };

/** An object written: its size in bytes and its digest (digest.ts) over parts of `partSize` bytes. */
export interface PutResult {
  key: string;
  bytes: number;
  digest: string;
  partSize: number;
}

/** How a put goes: `onProgress` gets the bytes sent so far; `signal` abandons it (the promise rejects). */
export interface PutOptions {
  onProgress?: (bytesSent: number) => void;
  signal?: AbortSignal;
}

/** An object being read: its size in bytes and its bytes, in order, once. */
export interface ObjectReader {
  bytes: number;
  body: AsyncIterable<Uint8Array>;
}

export interface ReplicaClient {
  /** The replica's URL, for messages (never holds credentials). */
  readonly url: string;

  /**
   * Every object whose key starts with `prefix` ('' for all), in key order.
   * @throws ReplicaError ACCESS, UNREACHABLE, IO.
   */
  list(prefix: string): Promise<ObjectInfo[]>;

  /**
   * Writes `key` from `source`, replacing any object there, and returns its
   * size and digest. The backend checks the bytes it stored against the
   * bytes sent (S3: Content-MD5 on every request body, which the server
   * verifies; a file: written, fsynced and renamed into place).
   * @throws ReplicaError INTEGRITY when the server saw other bytes, ACCESS, UNREACHABLE, IO.
   */
  put(key: string, source: PutSource, options?: PutOptions): Promise<PutResult>;

  /**
   * Creates `key` holding `bytes` only if no object has that key
   * (S3: PutObject with `If-None-Match: *`; a file: link(2) of a written
   * temporary file, which fails with EEXIST).
   * @throws ReplicaError EXISTS when the key is taken (S3: 412 Precondition Failed).
   */
  createExclusive(key: string, bytes: Uint8Array): Promise<void>;

  /**
   * The whole object `key` in memory; for small objects (records, the lease).
   * @throws ReplicaError NOT_FOUND, ACCESS, UNREACHABLE, IO.
   */
  get(key: string): Promise<Uint8Array>;

  /**
   * Opens `key` for reading as a stream (large objects).
   * @throws ReplicaError NOT_FOUND, ACCESS, UNREACHABLE, IO.
   */
  read(key: string): Promise<ObjectReader>;

  /**
   * Deletes the given keys; a key that is already gone is not an error.
   * @throws ReplicaError ACCESS, UNREACHABLE, IO.
   */
  delete(keys: readonly string[]): Promise<void>;

  /**
   * Abandons every upload under `prefix` that was started and never
   * finished, and returns how many (S3: multipart uploads, whose parts take
   * space but show in no listing of objects; a directory has none). Call
   * only when none of ours is in progress.
   * @throws ReplicaError ACCESS, UNREACHABLE, IO.
   */
  abandonIncompleteUploads(prefix: string): Promise<number>;

  /** Releases connections and handles. */
  close(): void;
}

const PART = /^[^/]+$/;

/**
 * Checks a key's shape (non-empty '/'-separated parts, none '.' or '..').
 * @throws RangeError for a malformed key: a bug in the caller, not a user error.
 */
export function checkKey(key: string): string {
  const parts = key.split('/');
  if (key === '' || parts.some((p) => !PART.test(p) || p === '.' || p === '..')) throw new RangeError(`malformed replica key ${JSON.stringify(key)}`);
  return key;
}

/** Every byte of `reader`'s body, in one buffer (for small objects). */
export async function readWhole(reader: ObjectReader): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of reader.body) chunks.push(chunk);
  return Buffer.concat(chunks);
}
