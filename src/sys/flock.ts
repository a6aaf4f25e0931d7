import { c, errno } from './libc.js';
import { SysError } from './errors.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;

/**
 * Takes an exclusive, non-blocking flock on `fd`. Returns false when another
 * open file description holds it. The kernel drops it when the holder dies.
 */
export function tryLockExclusive(fd: number): boolean {
  if ((c.flock(fd, LOCK_EX | LOCK_NB) as number) === 0) return true;
  const e = errno();
  if (e === EWOULDBLOCK) return false;
  throw new SysError('flock', e);
}

export function unlock(fd: number): void {
  if ((c.flock(fd, LOCK_UN) as number) !== 0) throw new SysError('flock(LOCK_UN)', errno());
}
