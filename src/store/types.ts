// The snapshot store's public shapes. The supervisor (src/host) and the
// inspection commands (src/cli) are written against these.
import type { StoreFs } from './fs.js';

/** Why a generation can be taken. */
export const REASONS = ['interval', 'post-mortem', 'shutdown', 'request', 'import'] as const;
/** Why a generation was taken. */
export type Reason = typeof REASONS[number];

/** The manifest stored beside each image (JSON): what its writer supplied, and what the store adds. */
export interface Manifest extends ManifestFields {
  /** Manifest format version. */
  readonly format: 1;
  readonly sequence: number;
  /** ISO 8601 time the generation was taken. */
  readonly time: string;
  readonly imageSize: number;
}

/** A committed generation on disk (its manifest parsed, not yet verified). */
export interface Generation {
  readonly sequence: number;
  readonly manifest: Manifest;
  readonly imagePath: string;
  readonly manifestPath: string;
}

/** One row of list(): a generation, or one whose manifest could not be read. */
export type ListedGeneration =
  | ({ readonly ok: true } & Generation)
  | { readonly ok: false; readonly sequence: number; readonly manifestPath: string; readonly imagePath: string; readonly reason: string };

/** The outcome of verifying a generation; `reason` is one line a person understands. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** What newestVerified() found: the generation to restore and the newer ones it skipped, with why. */
export interface NewestVerified {
  readonly generation: Generation | null;
  readonly skipped: ReadonlyArray<{ readonly sequence: number; readonly reason: string }>;
}

/** Options of SnapshotStore.open(). */
export interface StoreOptions {
  /** Generations kept by retention (>= 2, default 3). */
  readonly keep?: number;
  /**
   * Inspect only: no lock, no directory creation, no sweep of temporary
   * files, no writes. What list/show/verify/cat/export use, so they work
   * beside a running host and on directories they may only read.
   */
  readonly readOnly?: boolean;
  /** The file-system operations to use (default: the real file system); a test substitutes a recording one. */
  readonly fs?: StoreFs;
  /**
   * Generations retention must not delete yet, asked at each pass (the
   * replica's: what it still has to upload). Kept beyond `keep`, never
   * instead of the newest ones.
   */
  readonly spare?: () => ReadonlySet<number>;
}

/** One result of verifyAll(): a listed generation and its verdict (an unreadable manifest is a failed one). */
export interface GenerationCheck {
  readonly listed: ListedGeneration;
  readonly verdict: Verdict;
}

/**
 * Fields the writer of a generation supplies; the store fills in format,
 * sequence, time and imageSize. Offsets are decimal strings: they can pass 2^53.
 */
export interface ManifestFields {
  readonly reason: Reason;
  readonly checksum: { readonly algorithm: string; readonly value: string };
  /** False for a raw capture of a file no writer ever configured. */
  readonly configured: boolean;
  /** Consistent records in the image. */
  readonly records: number;
  readonly latest: { readonly offset: string; readonly length: number } | null;
  readonly writeOffset: string;
}

/**
 * A generation being written: a temporary image file open for writing. The
 * capture fills `fd`, then commit() runs the durable sequence (fsync image,
 * rename, manifest to temp, fsync, rename = commit point, fsync directory),
 * then retention. abort() removes the temporary file. Exactly one of them.
 */
export interface PendingImage {
  readonly fd: number;
  readonly path: string;
  /**
   * Writes all `length` bytes of `buf[offset..]` at byte `position` of the
   * image, through the store's StoreFs (so a test's recording one sees it).
   */
  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<void>;
  /** Sets the image's size in bytes (ftruncate(2)), through the store's StoreFs. */
  truncate(size: number): Promise<void>;
  commit(fields: ManifestFields): Promise<Generation>;
  abort(): Promise<void>;
}

/** The snapshot directory's API (src/store/store.ts implements it as class SnapshotStore). */
export interface SnapshotStoreApi {
  readonly dir: string;
  readonly keep: number;
  readonly readOnly: boolean;
  /** Every generation, newest first, including ones whose manifest is unreadable (ok: false). */
  list(): Promise<ListedGeneration[]>;
  /** One generation by sequence; throws StoreError code NOT_FOUND. */
  get(sequence: number): Promise<Generation>;
  /** Manifest, image size, checksum, layout and every valid record's bounds. */
  verify(generation: Generation): Promise<Verdict>;
  /** Every generation, newest first, each with its verdict, one at a time (nothing is held open between them). */
  verifyAll(): AsyncGenerator<GenerationCheck>;
  /** The newest generation that verifies, and the newer ones skipped with why. */
  newestVerified(): Promise<NewestVerified>;
  /** A new temporary image (throws StoreError READ_ONLY on a read-only store). */
  createImage(): Promise<PendingImage>;
  /** Deletes all but the newest `keep` generations, never the newest verified one; returns the deleted sequences. */
  prune(keep?: number): Promise<number[]>;
  /** Deletes every generation but the newest that verifies, waiting until their images are gone; nothing when none verifies. */
  pruneToNewestVerified(): Promise<number[]>;
  /** Releases the lock. */
  close(): Promise<void>;
}
