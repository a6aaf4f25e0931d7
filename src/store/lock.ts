// One host per snapshot directory: an exclusive flock on the directory's
// lock file, held for the store's life. The kernel drops it when the holder
// dies, however it dies, so a crashed host never leaves a stale lock. The
// file also holds the holder's pid, so a second host can say who is there.
import fs from 'node:fs';
import { join } from 'node:path';
import { isAlive, tryLockExclusive, unlock } from '../sys/index.js';
import { DirectoryLockedError, storeIoError } from './errors.js';
import { LOCK_NAME } from './names.js';

/** A held lock on a snapshot directory. */
export class DirectoryLock {
  readonly path: string;
  #fd: number | null;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /**
   * Takes the lock of `dir` or throws a DirectoryLockedError (a StoreError, code LOCKED) naming the pid
   * that holds it. The lock file is opened read-only: holding it open for
   * writing would stop the file system from being remounted read-only.
   */
  static acquire(dir: string): DirectoryLock {
    const path = join(dir, LOCK_NAME);
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw storeIoError('open the lock file', path, err);
    }
    let locked: boolean;
    try {
      locked = tryLockExclusive(fd);
    } catch (err) {
      fs.closeSync(fd);
      throw storeIoError('lock', path, err);
    }
    if (!locked) {
      fs.closeSync(fd);
      throw new DirectoryLockedError(dir, holderPid(path));
    }
    try {
      fs.writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
    } catch (err) {
      unlock(fd);
      fs.closeSync(fd);
      throw storeIoError('write the lock file', path, err);
    }
    return new DirectoryLock(path, fd);
  }

  get held(): boolean {
    return this.#fd !== null;
  }

  /** Releases the lock (once; later calls do nothing). The file stays: removing it would race a new holder. */
  release(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      unlock(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The pid written in the lock file, when it names a process that is alive. */
function holderPid(path: string): number | null {
  try {
    const text = fs.readFileSync(path, 'utf8').trim();
    if (!/^[1-9][0-9]*$/.test(text)) return null;
    const pid = Number(text);
    return isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}
