// The mark of a host that ended cleanly. A host writes it at its end, once
// no process holds its shared memory any more, and takes it (deletes it) at
// its next start, before it creates a shared file: a start that finds no
// mark (the last host was SIGKILLed, crashed, or left a writer that would
// not die; a directory of an older version; a mark someone deleted) looks
// through /proc for writers a predecessor left, and one that finds it skips
// that search, whose cost grows with the number of processes on the machine
// (docs/BENCHMARKS.md, Start-up). Without the mark, the search: the safe
// default, for a new directory too (the store does not mark one it
// creates: another host may lock it between the mkdir and this one's lock).
//
// Never fsynced: it has to outlive processes, not the machine. A crash of
// the machine ends every process, so a mark lost or brought back by one
// leaves no writer unseen.
import fs from 'node:fs';
import { join } from 'node:path';
import { CLEAN_END_MARKER } from './names.js';
import { storeIoError } from './errors.js';
import { removeIfPresentWith, type StoreFs } from './fs.js';

/**
 * Deletes `dir`/clean-end. Resolves to true when it was there: the last
 * host ended cleanly, leaving no process that holds its shared memory.
 * @throws StoreError when it cannot be deleted.
 */
export async function takeCleanEnd(sfs: StoreFs, dir: string): Promise<boolean> {
  const path = join(dir, CLEAN_END_MARKER);
  try {
    return await removeIfPresentWith(sfs, path);
  } catch (err) {
    throw storeIoError('delete the mark of a clean end', path, err);
  }
}

/** Creates `dir`/clean-end (empty): a host's end, once no process holds its shared memory. @throws StoreError when it cannot. */
export async function markCleanEnd(sfs: StoreFs, dir: string): Promise<void> {
  const path = join(dir, CLEAN_END_MARKER);
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under the mark's name must not hang the host's end (ENXIO instead).
    fd = await sfs.open(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK, 0o600);
  } catch (err) {
    throw storeIoError('write the mark of a clean end', path, err);
  }
  await sfs.close(fd);
}
