// Whether this machine can give a child a shared file of a given size, asked
// before anything is written: a memory file costs nothing until its pages are
// written, but its size must pass the file size limit (RLIMIT_FSIZE,
// `ulimit -f`: EFBIG) and its mapping must fit the address space
// (RLIMIT_AS, `ulimit -v`: ENOMEM).
import { closeSync, ftruncateSync } from 'node:fs';
import { MFD_CLOEXEC, Mapping, SysError, memfdCreate } from '../sys/index.js';

/**
 * Creates a memory file of `size` bytes, maps it without access and drops
 * both; no page is touched. Throws a SysError (EFBIG, ENOMEM...) naming
 * what this machine refuses; returns when a child could map such a file.
 */
export function probeSharedFileSize(size: number): void {
  const fd = memfdCreate('shm-host-size-probe', MFD_CLOEXEC);
  try {
    try {
      ftruncateSync(fd, size);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new SysError('ftruncate', -(e.errno ?? 0), `${size} bytes`);
    }
    Mapping.probe(fd, size);
  } finally {
    closeSync(fd);
  }
}
