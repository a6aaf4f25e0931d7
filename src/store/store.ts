// The snapshot directory as an object: generations listed, verified,
// written durably, pruned; one host at a time.
import { asPathError, requireDirectory } from './directory.js';
import { StoreError, storeIoError } from './errors.js';
import { realStoreFs, removeIfPresentWith, type StoreFs } from './fs.js';
import { diskBytesOf, isGone, scanDirectory } from './listing.js';
import { orphanDataFiles, type OrphanDataFile } from './orphans.js';
import { pruneGenerations } from './prune.js';
import { DeltaTip, type DeltaParent } from './delta-tip.js';
import { chainOrThrow, openChainOrThrow, type ChainImage } from './chain.js';
import { chainFilesProblem, generationFiles, type ManifestsSeen } from './chain-files.js';
import { readGeneration } from './read-generation.js';
import type { DirectoryLock } from './lock.js';
import { markCleanEnd, takeCleanEnd } from './clean-end.js';
import { mapInOrder } from './in-order.js';
import { openForWriting } from './open-writable.js';
import { MAX_SEQUENCE, generationPaths } from './names.js';
import { createPendingImage } from './pending-image.js';
import { DEFAULT_KEEP, type ChainLimits } from './retention.js';
import { chainLimitsOption, keepOption } from './store-options.js';
import type {
  Generation, GenerationCheck, GenerationFile, ListedGeneration, NewestVerified, PendingImage, SnapshotStoreApi, StoreOptions, Verdict, VerifyOptions,
} from './types.js';
import { verifyGeneration } from './verify.js';
import { raiseSequenceFloorIn } from './sequence-floor.js';
import { setAsideIn } from './set-aside.js';

/**
 * A snapshot directory (docs/FORMAT.md, section 9). Open it with SnapshotStore.open();
 * a writable store holds the directory's lock until close().
 */
export class SnapshotStore implements SnapshotStoreApi {
  readonly dir: string;
  readonly keep: number;
  readonly readOnly: boolean;
  #lock: DirectoryLock | null;
  /** The newest generation this store wrote or restored, with its chunks' digests: the parent of the next delta. */
  readonly #tip = new DeltaTip();
  readonly #fs: StoreFs;
  #nextSequence: number;
  /** Sequences whose names a file that is not a generation holds (a stray manifest name): never written over. */
  readonly #strays: ReadonlySet<number>;
  #closed = false;
  #background: Promise<void> = Promise.resolve();
  /** Retention after the last commit (never rejects). */
  #pruning: Promise<void> = Promise.resolve();

  private constructor(sfs: StoreFs, dir: string, keep: number, readOnly: boolean, lock: DirectoryLock | null, nextSequence: number, readonly chainLimits: ChainLimits, strays: ReadonlySet<number> = new Set(), readonly spare: () => ReadonlySet<number> = () => new Set()) {
    this.#fs = sfs;
    this.dir = dir;
    this.keep = keep;
    this.readOnly = readOnly;
    this.#lock = lock;
    this.#nextSequence = nextSequence;
    this.#strays = strays;
  }

  /**
   * Opens `dir`. Writable (the default): creates it 0700 if missing, refuses a path that is not a private directory, takes the lock
   * (a second host gets StoreError LOCKED naming the holder's pid), removes what interrupted writes left (temporary files, data files
   * no manifest names), then fsyncs the directory and every one above it (syncDirectoryPath). `readOnly`: none of that, for inspecting.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<SnapshotStore> {
    const keep = keepOption(options.keep ?? DEFAULT_KEEP, dir);
    const readOnly = options.readOnly === true;
    const sfs = options.fs ?? realStoreFs;
    const limits = chainLimitsOption(options.chain, dir);
    if (readOnly) {
      await requireDirectory(sfs, dir);
      // A directory that cannot be listed is a problem of the path (its mode), found now rather than mid-command.
      await sfs.readdir(dir).catch((err: unknown) => {
        throw asPathError(storeIoError('read the snapshot directory', dir, err));
      });
      return new SnapshotStore(sfs, dir, keep, true, null, 0, limits);
    }
    const { lock, nextSequence, strays } = await openForWriting(sfs, dir, options.writer ?? 'host', options.create !== false, options.onSwept);
    return new SnapshotStore(sfs, dir, keep, false, lock, Math.max(nextSequence, options.firstSequence ?? 1), limits, strays, options.spare);
  }

  #usable(): void {
    if (this.#closed) throw new StoreError('CLOSED', `snapshot store ${this.dir} is closed`, { path: this.dir, hint: 'open it again' });
  }

  #writable(what: string): void {
    this.#usable();
    if (this.readOnly) {
      throw new StoreError('READ_ONLY', `cannot ${what} in ${this.dir}: the store was opened read-only`, { path: this.dir, hint: 'open it without readOnly (no other host may be using it)' });
    }
  }

  async list(): Promise<ListedGeneration[]> {
    this.#usable();
    await this.#pruning;
    const scan = await scanDirectory(this.#fs, this.dir);
    return mapInOrder(scan.sequences, async (sequence): Promise<ListedGeneration> => {
      const g = await readGeneration(this.#fs, this.dir, sequence);
      if (!('unreadable' in g)) return { ok: true, ...g };
      return { ok: false, sequence, ...generationPaths(this.dir, sequence), reason: g.missing ? g.line : g.problem };
    });
  }

  async get(sequence: number): Promise<Generation> {
    this.#usable();
    await this.#pruning;
    if (!Number.isSafeInteger(sequence) || sequence < 1) {
      throw new StoreError('NOT_FOUND', `there is no generation ${sequence} in ${this.dir}`, { path: this.dir, hint: 'generations are numbered from 1; list them to see which exist' });
    }
    const { manifestPath } = generationPaths(this.dir, sequence);
    const g = await readGeneration(this.#fs, this.dir, sequence);
    if (!('unreadable' in g)) return g;
    if (g.missing) {
      throw new StoreError('NOT_FOUND', `there is no generation ${sequence} in ${this.dir}`, { path: manifestPath, hint: 'list the generations to see which exist' });
    }
    throw new StoreError('BAD_MANIFEST', g.line, { path: manifestPath, hint: 'use another generation' });
  }

  chainOf = async (generation: Generation): Promise<Generation[]> => (this.#usable(), chainOrThrow(this.#fs, this.dir, generation));

  async openChain(generation: Generation, options: { checkFiles?: boolean | 'salvage'; chain?: readonly Generation[] | null } = {}): Promise<ChainImage> {
    this.#usable();
    return openChainOrThrow(this.#fs, this.dir, generation, options.checkFiles ?? true, options.chain ?? null);
  }

  filesOf = (generation: Generation): GenerationFile[] => generationFiles(generation);
  /** Links the files of generations `sequences` and of their chains into setAsideDirOf(dir) (set-aside.ts); returns the names linked. @throws the file system's error. */
  setAside = async (sequences: readonly number[]): Promise<string[]> => (this.#writable('set generations aside'), setAsideIn(this.#fs, this.dir, sequences, async (s) => (await this.get(s)).manifest.parent));
  /** True once a listed generation's manifest is gone: a running host's retention deleted it since it was listed. */
  gone = (listed: { readonly manifestPath: string }): Promise<boolean> => isGone(this.#fs, listed.manifestPath);
  /** Bytes a listed generation's own data file takes on disk (allocated blocks: holes cost nothing), null when it is missing. */
  diskBytes = (listed: { readonly imagePath: string }): Promise<number | null> => diskBytesOf(this.#fs, listed.imagePath);
  /** Data files no manifest names (orphans.ts): one look, or with `seen` those of an earlier look still orphans. @throws StoreError. */
  orphans = (seen?: readonly OrphanDataFile[]): Promise<OrphanDataFile[]> => (this.#usable(), orphanDataFiles(this.#fs, this.dir, seen));

  remember: SnapshotStoreApi['remember'] = (generation, digests, blocks = null, chain = null) => { if (!this.readOnly) this.#tip.remember(generation, digests, blocks, chain); };
  readonly #manifestsSeen: ManifestsSeen = new WeakMap();
  chainProblem: SnapshotStoreApi['chainProblem'] = (generation, chain = null) => chainFilesProblem(this.#fs, this.dir, generation, chain, this.#manifestsSeen);
  forgetDeltaParent = (): void => this.#tip.forget();

  /**
   * The replica holds sequences up to `highest`: new generations number above it, and the floor is
   * recorded in the directory (sequence-floor.ts) for a start that cannot reach the replica.
   * @throws StoreError when the floor cannot be written.
   */
  async raiseSequenceFloor(highest: number): Promise<void> {
    this.#writable('record the sequence floor');
    this.#nextSequence = Math.max(this.#nextSequence, highest + 1);
    await raiseSequenceFloorIn(this.#fs, this.dir, highest);
  }

  /** Deletes the mark of a clean end (clean-end.ts); true when it was there: the last host left no writer. @throws StoreError. */
  takeCleanEnd = async (): Promise<boolean> => (this.#writable('take the mark of a clean end'), takeCleanEnd(this.#fs, this.dir));

  /** Writes that mark: at a host's end, once no process holds its shared memory. @throws StoreError. */
  markCleanEnd = async (): Promise<void> => (this.#writable('mark a clean end'), markCleanEnd(this.#fs, this.dir));

  deltaParent = (imageSize: number): DeltaParent | null => this.#tip.parentFor(imageSize, this.chainLimits);

  async verify(generation: Generation): Promise<Verdict> {
    this.#usable();
    return verifyGeneration(generation, this.#fs);
  }

  async *verifyAll(options: VerifyOptions = {}): AsyncGenerator<GenerationCheck> {
    this.#usable();
    for (const listed of await this.list()) {
      const verdict: Verdict = listed.ok ? await verifyGeneration(listed, this.#fs, options) : { ok: false, reason: listed.reason };
      yield { listed, verdict };
    }
  }

  async newestVerified(): Promise<NewestVerified> {
    const skipped: Array<{ sequence: number; reason: string }> = [];
    for await (const { listed, verdict } of this.verifyAll()) {
      if (listed.ok && verdict.ok) {
        const { ok: _ok, ...generation } = listed;
        return { generation, skipped };
      }
      skipped.push({ sequence: listed.sequence, reason: verdict.ok ? '' : verdict.reason });
    }
    return { generation: null, skipped };
  }

  async createImage(options: { parent?: Generation } = {}): Promise<PendingImage> {
    this.#writable('write a snapshot');
    // The last commit's retention first: never more generations on disk than keep + the one being written.
    await this.#pruning;
    if (this.#nextSequence > MAX_SEQUENCE) {
      throw new StoreError('IO', `snapshot directory ${this.dir} has used up its sequence numbers`, { path: this.dir, hint: 'move the newest generation to a new directory' });
    }
    while (this.#strays.has(this.#nextSequence)) this.#nextSequence++;
    const sequence = this.#nextSequence++;
    // Retention once the commit is durable, after the commit returns (the
    // capture publishes its durable_offset without waiting for deletions);
    // the new generation is known good (its writer hashed what it wrote),
    // so it is the one to spare. Reads of this store wait for it.
    return createPendingImage(this.#fs, this.dir, sequence, async (generation) => {
      // A failed deletion loses nothing: the next commit prunes again. Closed meanwhile: the lock is gone, so no deletions.
      if (this.#closed) return;
      this.#pruning = this.#pruning.then(() => this.#prune(this.keep, generation.sequence)).then(() => {}, () => {});
    }, options.parent ?? null);
  }

  async prune(keep: number = this.keep): Promise<number[]> {
    this.#writable('prune generations');
    keepOption(keep, this.dir);
    await this.#pruning;
    return this.#prune(keep, null);
  }

  /**
   * Deletes every generation but the newest that verifies (or, with none
   * verified, deletes nothing), and waits until their images are gone, so
   * their space is free: the last resort of a host whose final capture
   * met a full disk. Returns the sequences deleted.
   */
  async pruneToNewestVerified(): Promise<number[]> {
    this.#writable('prune generations');
    await this.#pruning;
    const protect = (await this.newestVerified()).generation?.sequence ?? null;
    if (protect === null) return [];
    const victims = await this.#prune(1, protect);
    await this.#background;
    return victims;
  }

  /** Runs pruneGenerations on this directory now. */
  #prune(keep: number, knownGood: number | null): Promise<number[]> {
    return pruneGenerations({
      fs: this.#fs,
      dir: this.dir,
      newestVerified: async () => (await this.newestVerified()).generation?.sequence ?? null,
      spare: this.spare,
      // Debris once its manifest is gone: close() waits for it, or the next open() sweeps it.
      removeLater: (path) => {
        this.#background = this.#background.then(() => removeIfPresentWith(this.#fs, path)).catch(() => {}).then(() => {});
      },
    }, keep, knownGood);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pruning;
    await this.#background;
    await this.#lock?.release();
    this.#lock = null;
  }
}

