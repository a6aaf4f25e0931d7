// Creating the memory file a child maps, and the facts about its size.
import { closeSync, fstatSync, ftruncateSync } from 'node:fs';
import { F_SEAL_SHRINK, addSeals, getSeals, memfdCreate } from '../sys/index.js';

/**
 * A new anonymous memory file of `size` bytes, close-on-exec (the child gets
 * it by an explicit dup onto fd 3) and sealed against shrinking, so no party
 * can cut pages from under another's mapping. `name` is its memfd name
 * (memfd_create(2): up to 249 bytes), seen in /proc/PID/fd and maps.
 */
export function createSharedFile(size: number, name = 'shm-host'): number {
  const fd = memfdCreate(name);
  try {
    ftruncateSync(fd, size);
    addSeals(fd, F_SEAL_SHRINK);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Grows `fd` to at least `size` bytes (a memory file never shrinks here). */
export function growTo(fd: number, size: number): number {
  const current = fstatSync(fd).size;
  if (current < size) ftruncateSync(fd, size);
  return Math.max(current, size);
}

/** Current size of the file: a child may have grown it. */
export function sizeOf(fd: number): number {
  return fstatSync(fd).size;
}

/**
 * Seals `fd` against shrinking (F_SEAL_SHRINK, fcntl(2)) unless it is
 * already. Returns false when the file cannot be sealed: not a memfd, a
 * memfd made without MFD_ALLOW_SEALING, or one whose seals are sealed
 * (F_SEAL_SEAL) without F_SEAL_SHRINK. A mapping of a file that another
 * process can shrink dies with SIGBUS at the first page past the new end,
 * so the host maps only files sealed this way.
 */
export function sealAgainstShrink(fd: number): boolean {
  try {
    if ((getSeals(fd) & F_SEAL_SHRINK) !== 0) return true;
    addSeals(fd, F_SEAL_SHRINK);
    return true;
  } catch {
    return false;
  }
}
