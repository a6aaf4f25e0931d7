// One writer per snapshot directory: an exclusive flock on the directory's
// lock file, held for the store's life, and by a restore from a replica for
// the whole restore. The kernel drops it when the holder dies, however it
// dies, so a crashed writer never leaves a stale lock. The file also holds
// the holder's pid and what it is doing, so the loser can say who is there.
import fs from 'node:fs';
import { join } from 'node:path';
import { isAlive, tryLockExclusive, unlock } from '../sys/index.js';
import { DirectoryLockedError, storeIoError } from './errors.js';
import { readSmallFile, writeFullyWith, type StoreFs } from './fs.js';
import { LOCK_NAME } from './names.js';

/** How long acquire() tries again while the lock is held by no process the lock file names. */
const PROBE_GRACE_MS = 500;

/** A held lock on a snapshot directory. */
export class DirectoryLock {
  readonly path: string;
  #fd: number | null;
  readonly #sfs: StoreFs;

  private constructor(path: string, fd: number, sfs: StoreFs) {
    this.path = path;
    this.#fd = fd;
    this.#sfs = sfs;
  }

  /**
   * Takes the lock of `dir` for `what` (one word: `host`, `restore`,
   * `import`, `prune`) or throws a DirectoryLockedError (a StoreError, code
   * LOCKED) naming the pid that holds it and what it does. The lock file is
   * opened read-only: holding it open for writing would stop the file
   * system from being remounted read-only.
   */
  static async acquire(sfs: StoreFs, dir: string, what = 'host'): Promise<DirectoryLock> {
    const path = join(dir, LOCK_NAME);
    let fd: number;
    try {
      fd = await sfs.open(path, fs.constants.O_RDONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw storeIoError('open the lock file', path, err);
    }
    // Held, but by nobody the file names: a heldBy() probing for a moment,
    // or a writer that has not written its pid yet. Tried again until
    // PROBE_GRACE_MS has passed, so neither makes a writer fail.
    for (const deadline = performance.now() + PROBE_GRACE_MS; ;) {
      let locked: boolean;
      try {
        locked = tryLockExclusive(fd);
      } catch (err) {
        await sfs.close(fd);
        throw storeIoError('lock', path, err);
      }
      if (locked) break;
      const holder = await readHolder(sfs, path);
      if (holder === null && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      await sfs.close(fd);
      throw new DirectoryLockedError(dir, holder?.pid ?? null, holder?.what ?? null);
    }
    try {
      await writeHolder(sfs, path, `${process.pid} ${what}\n`);
    } catch (err) {
      unlock(fd);
      await sfs.close(fd);
      throw storeIoError('write the lock file', path, err);
    }
    return new DirectoryLock(path, fd, sfs);
  }

  /**
   * Who holds the lock of `dir` now, without taking it or creating the
   * lock file: a DirectoryLockedError to throw, or null when nobody does
   * (or there is no lock file).
   */
  static async heldBy(sfs: StoreFs, dir: string): Promise<DirectoryLockedError | null> {
    const path = join(dir, LOCK_NAME);
    let fd: number;
    try {
      fd = await sfs.open(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW, 0);
    } catch {
      return null;
    }
    try {
      if (tryLockExclusive(fd)) {
        unlock(fd);
        return null;
      }
    } catch {
      return null;
    } finally {
      await sfs.close(fd);
    }
    const holder = await readHolder(sfs, path);
    return new DirectoryLockedError(dir, holder?.pid ?? null, holder?.what ?? null);
  }

  get held(): boolean {
    return this.#fd !== null;
  }

  /**
   * Releases the lock (once; later calls do nothing). The file stays:
   * removing it would race a new holder. Its text is cleared first (where
   * the file can still be written), so that nobody is named as its holder
   * while it is free.
   */
  async release(): Promise<void> {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      // A file that cannot be written (a read-only file system) keeps its text: it names a process only while alive.
      await writeHolder(this.#sfs, this.path, '').catch(() => {});
      unlock(fd);
    } finally {
      await this.#sfs.close(fd);
    }
  }

  /**
   * Removes the lock file, then releases the lock: for a holder about to
   * remove a directory it created (a failed import's). Unlinked while
   * held, so no other writer can have taken it meanwhile; one that opened
   * the file before finds it held by this process and refuses.
   */
  async releaseRemoving(): Promise<void> {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      await this.#sfs.unlink(this.path);
      unlock(fd);
    } finally {
      await this.#sfs.close(fd);
    }
  }
}

/**
 * True when the lock file of `dir` names a process that is alive: a writer
 * (a host, an import, a prune, a restore) may be changing the directory.
 * Reads the file only (no flock, which would make a starting writer retry),
 * so a reader beside a host may ask; pid reuse can make it true wrongly.
 */
export async function writerMayBeActive(sfs: StoreFs, dir: string): Promise<boolean> {
  return (await readHolder(sfs, join(dir, LOCK_NAME))) !== null;
}

/** The pid written in the lock file, when it names a process that is alive, and what it said it does (null when it did not). */
async function readHolder(sfs: StoreFs, path: string): Promise<{ pid: number; what: string | null } | null> {
  try {
    const text = (await readSmallFile(sfs, path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW, 64)).toString('utf8').trim();
    // `<pid>` (older hosts) or `<pid> <what>`.
    const m = /^([1-9][0-9]*)(?: ([a-z]+))?$/.exec(text);
    if (m === null) return null;
    const pid = Number(m[1]);
    return isAlive(pid) ? { pid, what: m[2] ?? null } : null;
  } catch {
    return null;
  }
}

/**
 * Replaces the lock file's contents with `text` (the holder's line, or
 * nothing once it lets go): written over the old text, then cut to its
 * length (never emptied first, so a loser reading it meanwhile finds a
 * whole line, old or new).
 */
async function writeHolder(sfs: StoreFs, path: string, text: string): Promise<void> {
  const fd = await sfs.open(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    const bytes = Buffer.from(text, 'utf8');
    await writeFullyWith(sfs, fd, bytes, 0, bytes.length, 0);
    await sfs.ftruncate(fd, bytes.length);
  } finally {
    await sfs.close(fd);
  }
}
