// The snapshot store's public shapes. The supervisor (src/host) and the
// inspection commands (src/cli) are written against these.
import type { BlockDigests, ChunkDigests } from '../format/index.js';
import type { StoreFs } from './fs.js';
import type { ChainLimits } from './retention.js';
import type { SalvageRecord } from './salvage-record.js';

/** Why a generation can be taken. */
export const REASONS = ['interval', 'post-mortem', 'shutdown', 'request', 'import'] as const;
/** Why a generation was taken. */
export type Reason = typeof REASONS[number];

/** A full generation holds its whole image; a delta only the blocks that differ from its parent's image. */
export type GenerationKind = 'full' | 'delta';

/** What a delta generation's file holds (docs/FORMAT.md, section 9). */
export interface DeltaFacts {
  /** Bytes per block (4096). */
  readonly blockSize: number;
  /** Blocks the delta holds (whose content it gives), zero blocks included. */
  readonly held: number;
  /** Held blocks whose bytes are stored in the file (the others are all zeros). */
  readonly stored: number;
  /** Bytes of the delta file. */
  readonly fileBytes: number;
  /** XXH3-64 fold of the delta file's bytes after its header page (16 hex digits). */
  readonly fileChecksum: string;
}

/**
 * The manifest stored beside each generation (JSON): what its writer
 * supplied, and what the store adds. Format 1 manifests (full images only)
 * read as kind 'full', no parent, an empty chain.
 */
export interface Manifest extends ManifestFields {
  /** Manifest format version: 1 (written before deltas) or 2. */
  readonly format: 1 | 2;
  readonly sequence: number;
  /** ISO 8601 time the generation was taken. */
  readonly time: string;
  /** Bytes of the whole image the generation stands for. */
  readonly imageSize: number;
  readonly kind: GenerationKind;
  /** The generation a delta applies to (null for a full one). */
  readonly parent: number | null;
  /** Deltas from the chain's full generation up to this one (0 for a full one), and their files' bytes. */
  readonly chain: { readonly links: number; readonly bytes: number };
  /** A delta's file, or null for a full generation. */
  readonly delta: DeltaFacts | null;
}

/**
 * A committed generation on disk (its manifest parsed, not yet verified).
 * `imagePath` is the generation's data file: the image of a full one, the
 * `.delta` file of a delta.
 */
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
  /** Inspect only: no lock, no directory creation, no sweep, no writes (list/show/verify/cat/export, beside a running host). */
  readonly readOnly?: boolean;
  /** The file-system operations to use (default: the real file system); a test substitutes a recording one. */
  readonly fs?: StoreFs;
  /** When to write a full generation instead of a delta (default: DEFAULT_CHAIN_LIMITS). */
  readonly chain?: Partial<ChainLimits>;
  /**
   * Generations retention must not delete yet, asked at each pass (the
   * replica's: what it still has to upload). Kept beyond `keep`, never
   * instead of the newest ones.
   */
  readonly spare?: () => ReadonlySet<number>;
  /**
   * The lowest sequence a new generation may take (default 1): one above
   * every sequence the host's replica holds, so that a history restored from
   * an older generation never reuses a number the replica gives another
   * generation.
   */
  readonly firstSequence?: number;
  /** What the writer is (`host` by default; `import`, `prune`), written in the lock file beside its pid: a second writer's refusal names it. */
  readonly writer?: string;
  /** Writable: create a missing `dir` and parents (default true); false: DirectoryPathError NOT_FOUND, as for readOnly (prune). */
  readonly create?: boolean;
  /** Told the data files the open removed because no manifest names them (debris of an interrupted write, or a generation whose manifest went): absolute paths. */
  readonly onSwept?: (paths: readonly string[]) => void;
}

/** One file of a generation, for a tool that copies generations (replication). `bytes` is null for the manifest. */
export interface GenerationFile {
  readonly role: 'image' | 'delta' | 'manifest';
  readonly path: string;
  readonly bytes: number | null;
}

/** What verify (verifyAll(), verifyGeneration()) checks besides the structure. */
export interface VerifyOptions {
  /**
   * Whether to hash the whole image and compare it with the manifest's
   * checksum (default true). A caller that restores the image next, and
   * checks the checksum as it copies (restoreImage), passes false: the
   * image is then read once, not twice. A delta's own files are checked
   * either way.
   */
  readonly imageChecksum?: boolean;
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
  /** Set only on a generation whose bytes were salvaged (an import with --ignore-checksum), or imported from one. */
  readonly salvaged?: SalvageRecord | null;
}

/**
 * A generation being written: a temporary image file open for writing. The
 * capture fills `fd`, then commit() runs the durable sequence (fsync image,
 * rename, manifest to temp, fsync, rename = commit point, fsync directory),
 * then retention. abort() removes the temporary file. Exactly one of them.
 */
export interface PendingImage {
  /** The temporary file: a full image is written through it; a delta through putBlock(). */
  readonly fd: number;
  readonly path: string;
  /**
   * Writes all `length` bytes of `buf[offset..]` at byte `position` of the
   * image, through the store's StoreFs (so a test's recording one sees it).
   */
  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<void>;
  /** Sets the image's size in bytes (ftruncate(2)), through the store's StoreFs. */
  truncate(size: number): Promise<void>;
  /**
   * Bytes [0, end) of a full image are written (their writes have
   * completed): they are handed to the disk while the rest is written, one
   * writeback request at a time (WritebackPump), so that the commit's fsync
   * has little left to do. A delta hands over its own bytes; there it does
   * nothing.
   */
  written(end: number): void;
  readonly kind: 'full' | 'delta';
  /** The generation a delta applies to; null for a full image. */
  readonly parent: Generation | null;
  /**
   * A delta holds block `index` (BLOCK_SIZE bytes; the image's last block
   * may be shorter) with `bytes`, or all zeros when null. Blocks must come
   * in increasing order. Throws on a full image.
   */
  putBlock(index: number, bytes: Uint8Array | null): Promise<void>;
  /** Runs the durable write sequence; a delta needs `imageSize` (bytes of the whole image it stands for). */
  commit(fields: ManifestFields, imageSize?: number): Promise<Generation>;
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
  verifyAll(options?: VerifyOptions): AsyncGenerator<GenerationCheck>;
  /** The newest generation that verifies, and the newer ones skipped with why. */
  newestVerified(): Promise<NewestVerified>;
  /**
   * The generations `generation` needs to be restored, newest first, down to a full
   * one ([generation] for a full one). StoreError CORRUPT: a link missing or unreadable.
   */
  chainOf(generation: Generation): Promise<Generation[]>;
  /**
   * The image `generation` stands for, through its chain, every link
   * checked (StoreError CORRUPT names a broken one); with `checkFiles:
   * false` the deltas' file checksums are not read (each link's header and
   * index still are; `'salvage'`: nor their reserved bytes, see ChainImage.skipped);
   * `chain`, deltaParent()'s (starting with `generation`), spares reading its manifests again. close() it.
   */
  openChain(generation: Generation, options?: { checkFiles?: boolean | 'salvage'; chain?: readonly Generation[] | null }): Promise<import('./chain.js').ChainImage>;
  /** The files of one generation (its data file and its manifest), for copying it elsewhere. */
  filesOf(generation: Generation): GenerationFile[];
  /**
   * Remembers the chunk digests (IMAGE_CHUNK_SIZE chunks) of `generation`'s
   * whole image, which a capture or a restore just computed: the next
   * capture can then write a delta against it. Digests of another chunk
   * size, or of a generation whose checksum uses another algorithm, forget
   * it instead (the next capture is full). `blocks`, the digests of its 4 KiB
   * blocks where known (a delta capture's), spare the next delta reading
   * the parent's bytes of a changed chunk. `chain`: its chain (resolveChain()'s),
   * from a restore; a capture's is known (a full one, or the parent's and itself).
   */
  remember(generation: Generation, digests: ChunkDigests, blocks?: BlockDigests | null, chain?: readonly Generation[] | null): void;
  /**
   * Null when every link of `generation`'s chain has its manifest and its
   * data file at the size its manifest gives; else one line naming the
   * first that does not. With `chain` (deltaParent()'s): stat(2), and a manifest read only when
   * new or changed since last read. A capture checks its parent's chain before a delta.
   */
  chainProblem(generation: Generation, chain?: readonly Generation[] | null): Promise<string | null>;
  /** Forgets what remember() kept: the next capture is full (its parent could not be read). */
  forgetDeltaParent(): void;
  /** The generation a capture of an `imageSize`-byte image may write a delta against, with its chunk digests and its block digests where known; null when a full one is due. */
  deltaParent(imageSize: number): { generation: Generation; digests: ChunkDigests; blocks: BlockDigests | null; chain: readonly Generation[] | null } | null;
  /** A new temporary image, or a delta of `parent` (throws StoreError READ_ONLY on a read-only store). */
  createImage(options?: { parent?: Generation }): Promise<PendingImage>;
  /** Deletes all but the newest `keep` generations, never the newest verified one; returns the deleted sequences. */
  prune(keep?: number): Promise<number[]>;
  /** Deletes every generation but the newest that verifies, waiting until their images are gone; nothing when none verifies. */
  pruneToNewestVerified(): Promise<number[]>;
  /** Releases the lock. */
  close(): Promise<void>;
}
