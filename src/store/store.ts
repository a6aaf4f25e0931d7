// The snapshot directory as an object: generations listed, verified,
// written durably, pruned; one host at a time.
import { asPathError, prepareDirectory, requireDirectory } from './directory.js';
import { DirectoryLockedError, StoreError, errorCode, storeIoError } from './errors.js';
import { realStoreFs, removeIfPresentWith, type StoreFs } from './fs.js';
import { manifestProblem, readManifestText, scanDirectory } from './listing.js';
import { classify, settleDirectory } from './settle.js';
import { DirectoryLock } from './lock.js';
import { parseManifest } from './manifest.js';
import { MAX_SEQUENCE, generationPaths } from './names.js';
import { createPendingImage } from './pending-image.js';
import { DEFAULT_KEEP, checkKeep, retentionVictims } from './retention.js';
import type {
  Generation, GenerationCheck, ListedGeneration, NewestVerified, PendingImage, SnapshotStoreApi, StoreOptions, Verdict,
} from './types.js';
import { verifyGeneration } from './verify.js';

/**
 * A snapshot directory (docs/FORMAT.md, section 9). Open it with SnapshotStore.open();
 * a writable store holds the directory's lock until close().
 */
export class SnapshotStore implements SnapshotStoreApi {
  readonly dir: string;
  readonly keep: number;
  readonly readOnly: boolean;
  #lock: DirectoryLock | null;
  readonly #fs: StoreFs;
  #nextSequence: number;
  /** Sequences whose names a file that is not a generation holds (a stray manifest name): never written over. */
  readonly #strays: ReadonlySet<number>;
  #closed = false;
  #background: Promise<void> = Promise.resolve();
  #spare: () => ReadonlySet<number> = () => new Set();

  private constructor(sfs: StoreFs, dir: string, keep: number, readOnly: boolean, lock: DirectoryLock | null, nextSequence: number, strays: ReadonlySet<number> = new Set()) {
    this.#fs = sfs;
    this.dir = dir;
    this.keep = keep;
    this.readOnly = readOnly;
    this.#lock = lock;
    this.#nextSequence = nextSequence;
    this.#strays = strays;
  }

  /**
   * Opens `dir`. Writable (the default): creates it 0700 if missing, refuses
   * a path that is not a private directory, takes the lock (a second host
   * gets StoreError LOCKED naming the holder's pid), and removes what
   * interrupted writes left (temporary files, images with no manifest),
   * then fsyncs the directory and every one above it (syncDirectoryPath).
   * `readOnly`: none of that, for inspecting a directory beside its host.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<SnapshotStore> {
    const keep = keepOption(options.keep ?? DEFAULT_KEEP, dir);
    const readOnly = options.readOnly === true;
    const sfs = options.fs ?? realStoreFs;
    if (readOnly) {
      await requireDirectory(sfs, dir);
      // A directory that cannot be listed is a problem of the path (its mode), found now rather than mid-command.
      await sfs.readdir(dir).catch((err: unknown) => {
        throw asPathError(storeIoError('read the snapshot directory', dir, err));
      });
      return new SnapshotStore(sfs, dir, keep, true, null, 0);
    }
    await prepareDirectory(sfs, dir);
    // The lock file is the first file written: a directory on a read-only
    // file system, or one this user cannot write, fails here.
    const lock = await DirectoryLock.acquire(sfs, dir).catch((err: unknown) => {
      throw err instanceof DirectoryLockedError ? err : asPathError(storeIoError('take the lock of', dir, err));
    });
    try {
      const { nextSequence, strays } = await settleDirectory(sfs, dir);
      const store = new SnapshotStore(sfs, dir, keep, false, lock, nextSequence, strays);
      if (options.spare !== undefined) store.#spare = options.spare;
      return store;
    } catch (err) {
      await lock.release();
      throw err;
    }
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
    const scan = await scanDirectory(this.#fs, this.dir);
    const out: ListedGeneration[] = [];
    for (const sequence of scan.sequences) {
      const paths = generationPaths(this.dir, sequence);
      try {
        const manifest = parseManifest(await readManifestText(this.#fs, paths.manifestPath), sequence);
        out.push({ ok: true, sequence, manifest, ...paths });
      } catch (err) {
        out.push({ ok: false, sequence, ...paths, reason: manifestProblem(err) });
      }
    }
    return out;
  }

  async get(sequence: number): Promise<Generation> {
    this.#usable();
    if (!Number.isSafeInteger(sequence) || sequence < 1) {
      throw new StoreError('NOT_FOUND', `there is no generation ${sequence} in ${this.dir}`, { path: this.dir, hint: 'generations are numbered from 1; list them to see which exist' });
    }
    const paths = generationPaths(this.dir, sequence);
    try {
      return { sequence, manifest: parseManifest(await readManifestText(this.#fs, paths.manifestPath), sequence), ...paths };
    } catch (err) {
      if (errorCode(err) === 'ENOENT') {
        throw new StoreError('NOT_FOUND', `there is no generation ${sequence} in ${this.dir}`, { path: paths.manifestPath, hint: 'list the generations to see which exist' });
      }
      throw new StoreError('BAD_MANIFEST', `generation ${sequence} cannot be read: ${manifestProblem(err)}`, { path: paths.manifestPath, hint: 'use another generation' });
    }
  }

  async verify(generation: Generation): Promise<Verdict> {
    this.#usable();
    return verifyGeneration(generation, this.#fs);
  }

  async *verifyAll(): AsyncGenerator<GenerationCheck> {
    this.#usable();
    for (const listed of await this.list()) {
      const verdict: Verdict = listed.ok ? await verifyGeneration(listed, this.#fs) : { ok: false, reason: listed.reason };
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

  async createImage(): Promise<PendingImage> {
    this.#writable('write a snapshot');
    if (this.#nextSequence > MAX_SEQUENCE) {
      throw new StoreError('IO', `snapshot directory ${this.dir} has used up its sequence numbers`, { path: this.dir, hint: 'move the newest generation to a new directory' });
    }
    while (this.#strays.has(this.#nextSequence)) this.#nextSequence++;
    const sequence = this.#nextSequence++;
    // Retention after the commit is durable; the new generation is known
    // good (its writer hashed what it wrote), so it is the one to spare.
    return createPendingImage(this.#fs, this.dir, sequence, async (generation) => {
      try {
        await this.#prune(this.keep, generation.sequence);
      } catch {
        // A failed deletion loses nothing: the next commit prunes again.
      }
    });
  }

  async prune(keep: number = this.keep): Promise<number[]> {
    this.#writable('prune generations');
    keepOption(keep, this.dir);
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
    const protect = (await this.newestVerified()).generation?.sequence ?? null;
    if (protect === null) return [];
    const victims = await this.#prune(1, protect);
    await this.#background;
    return victims;
  }

  /** Deletes generations past the newest `keep`, sparing `knownGood` or else the newest that verifies. */
  async #prune(keep: number, knownGood: number | null): Promise<number[]> {
    const scan = await scanDirectory(this.#fs, this.dir);
    if (scan.sequences.length <= keep) return [];
    // Only generations count and go: a file whose manifest name holds no
    // manifest (another program's, or damage to report) is never deleted,
    // and does not take the place of one that is kept.
    const { generations } = await classify(this.#fs, this.dir, scan.sequences);
    if (generations.length <= keep) return [];
    const protect = knownGood ?? (await this.newestVerified()).generation?.sequence ?? null;
    const spared = this.#spare();
    const victims = retentionVictims(generations, keep, protect).filter((s) => !spared.has(s));
    for (const sequence of victims) {
      const { manifestPath, imagePath } = generationPaths(this.dir, sequence);
      // The manifest goes first, and now: the generation stops existing.
      try {
        await removeIfPresentWith(this.#fs, manifestPath);
      } catch (err) {
        throw storeIoError('delete old generation', manifestPath, err);
      }
      // Its image, now debris, goes in the background: unlinking a large
      // file frees every page it has in the page cache, which can take
      // longer than the capture itself. close() waits for it; if the
      // process dies first, the next open() sweeps it.
      this.#background = this.#background.then(() => removeIfPresentWith(this.#fs, imagePath)).catch(() => {}).then(() => {});
    }
    return victims;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#background;
    await this.#lock?.release();
    this.#lock = null;
  }
}

/** `keep` checked for the store in `dir`: a bad one is StoreError BAD_OPTION. */
function keepOption(keep: number, dir: string): number {
  try {
    return checkKeep(keep);
  } catch (err) {
    throw new StoreError('BAD_OPTION', (err as Error).message, { path: dir, hint: 'keep 2 or more generations', option: 'keep' });
  }
}
