// One host per snapshot directory: an exclusive flock on the directory's
// lock file, held for the store's life. The kernel drops it when the holder
// dies, however it dies, so a crashed host never leaves a stale lock. The
// file also holds the holder's pid, so a second host can say who is there.
import fs from 'node:fs';
import { join } from 'node:path';
import { isAlive, tryLockExclusive, unlock } from '../sys/index.js';
import { DirectoryLockedError, storeIoError } from './errors.js';
import { readSmallFile, writeFullyWith, type StoreFs } from './fs.js';
import { LOCK_NAME } from './names.js';

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
   * Takes the lock of `dir` or throws a DirectoryLockedError (a StoreError, code LOCKED) naming the pid
   * that holds it. The lock file is opened read-only: holding it open for
   * writing would stop the file system from being remounted read-only.
   */
  static async acquire(sfs: StoreFs, dir: string): Promise<DirectoryLock> {
    const path = join(dir, LOCK_NAME);
    let fd: number;
    try {
      fd = await sfs.open(path, fs.constants.O_RDONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw storeIoError('open the lock file', path, err);
    }
    let locked: boolean;
    try {
      locked = tryLockExclusive(fd);
    } catch (err) {
      await sfs.close(fd);
      throw storeIoError('lock', path, err);
    }
    if (!locked) {
      await sfs.close(fd);
      throw new DirectoryLockedError(dir, await holderPid(sfs, path));
    }
    try {
      await writePid(sfs, path);
    } catch (err) {
      unlock(fd);
      await sfs.close(fd);
      throw storeIoError('write the lock file', path, err);
    }
    return new DirectoryLock(path, fd, sfs);
  }

  get held(): boolean {
    return this.#fd !== null;
  }

  /** Releases the lock (once; later calls do nothing). The file stays: removing it would race a new holder. */
  async release(): Promise<void> {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      unlock(fd);
    } finally {
      await this.#sfs.close(fd);
    }
  }
}

/** The pid written in the lock file, when it names a process that is alive. */
async function holderPid(sfs: StoreFs, path: string): Promise<number | null> {
  try {
    const text = (await readSmallFile(sfs, path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW, 64)).toString('utf8').trim();
    if (!/^[1-9][0-9]*$/.test(text)) return null;
    const pid = Number(text);
    return isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Replaces the lock file's contents with this process's pid (0600, as writeFile would). */
async function writePid(sfs: StoreFs, path: string): Promise<void> {
  const fd = await sfs.open(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
  try {
    const bytes = Buffer.from(`${process.pid}\n`, 'utf8');
    await writeFullyWith(sfs, fd, bytes, 0, bytes.length, 0);
  } finally {
    await sfs.close(fd);
  }
}
