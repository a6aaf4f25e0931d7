// The temporary image a capture attempt writes, and how store and copy
// failures become the capture's one-line 'io' errors.
import type { ChunkDigests } from '../format/index.js';
import {
  StoreError, storeIoError, type Generation, type ManifestFields, type PendingImage, type SnapshotStore,
} from '../store/index.js';
import { CopyError, copySparse } from './sparse-copy.js';
import { CaptureError, ParentUnreadable } from './errors.js';
import type { CaptureOptions, CopyProgress } from './capture-options.js';

/** What one attempt at a capture came to. */
export type Attempt =
  | { kind: 'stored'; generation: Generation; records: number; latestEnd: bigint | null; bytesCopied: number; writerActive: boolean }
  | { kind: 'starved' }
  | { kind: 'parent-unreadable'; reason: string }
  | { kind: 'configured-meanwhile' };

/**
 * Runs `work` on a new temporary image (a delta of `parent`, or a full one
 * when null), which is removed unless `work` committed it.
 */
export async function withImage(store: SnapshotStore, parent: { generation: Generation } | null, work: (image: PendingImage) => Promise<Attempt>): Promise<Attempt> {
  let image: PendingImage;
  try {
    image = await store.createImage(parent === null ? {} : { parent: parent.generation });
  } catch (err) {
    throw asCaptureError(err);
  }
  let outcome: Attempt | undefined;
  try {
    outcome = await work(image);
    return outcome;
  } finally {
    if (outcome?.kind !== 'stored') await image.abort();
  }
}

/** Copies [start, end) of the live file into the image, hashing whole chunks; a failed write is an 'io' error. */
export async function copyInto(
  fd: number, image: PendingImage, start: number, end: number, size: number,
  digests: ChunkDigests, hashChunk: (index: number) => boolean, options: CaptureOptions, phase: CopyProgress['phase'],
): Promise<{ bytesCopied: number }> {
  const throttle = options.throttle;
  try {
    return await copySparse(fd, image.fd, start, end, {
      size,
      digests,
      hashChunk,
      onWritten: (end) => image.written(end),
      write: (buf, offset, length, position) => image.write(buf, offset, length, position),
      afterStep: throttle ? (offset, length) => throttle({ phase, offset, length }) : undefined,
    });
  } catch (err) {
    if (err instanceof CopyError && err.side === 'write') throw ioFailure('write snapshot image', image.path, err.cause);
    if (err instanceof CopyError) throw err.cause;
    throw err;
  }
}

/** Runs more work on the image; any failure is an 'io' error naming `op`. */
export async function onImage<T>(image: PendingImage, op: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof CaptureError || err instanceof ParentUnreadable) throw err;
    throw ioFailure(op, image.path, err);
  }
}

/** The store's durable write sequence; its failures are 'io' errors. */
export async function commit(image: PendingImage, fields: ManifestFields, imageSize: number): Promise<Generation> {
  try {
    return await image.commit(fields, imageSize);
  } catch (err) {
    throw asCaptureError(err);
  }
}

/** A failed file operation on the image as the capture's 'io' error. */
function ioFailure(op: string, path: string, err: unknown): CaptureError {
  const storeError = storeIoError(op, path, err);
  return new CaptureError('io', storeError.message, { cause: storeError });
}

/** A store failure as the capture's 'io' error (programming errors pass through). */
function asCaptureError(err: unknown): unknown {
  if (err instanceof CaptureError) return err;
  if (err instanceof StoreError && err.code !== 'READ_ONLY' && err.code !== 'CLOSED' && err.code !== 'BAD_OPTION') {
    return new CaptureError('io', err.message, { cause: err });
  }
  return err;
}
