// The marker of a host that may have left writers behind. A host creates it
// before its first child starts and deletes it at its end, once no process
// holds its shared memory any more; a host that finds it at its start knows
// that its predecessor did not end so (SIGKILL, a crash, a writer that would
// not die) and looks through /proc for that predecessor's writers. A host
// that does not find it skips that search, whose cost grows with the number
// of processes on the machine (docs/BENCHMARKS.md, Start-up).
//
// Never fsynced: it has to outlive processes, not the machine. A crash of
// the machine ends every process, so a lost marker leaves no writer behind,
// and a marker that survived one only costs the next start a search.
import fs from 'node:fs';
import { join } from 'node:path';
import { HOST_RUNNING_MARKER } from './names.js';
import { storeIoError } from './errors.js';
import { removeIfPresentWith, type StoreFs } from './fs.js';

/**
 * Creates `dir`/host-running unless it exists. Resolves to true when it
 * already existed: an earlier host did not end cleanly, and processes that
 * hold its shared memory may still run. @throws StoreError when it cannot be created.
 */
export async function markHostRunning(sfs: StoreFs, dir: string): Promise<boolean> {
  const path = join(dir, HOST_RUNNING_MARKER);
  let fd: number;
  try {
    fd = await sfs.open(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return true;
    throw storeIoError('create the marker of a running host', path, err);
  }
  await sfs.close(fd);
  return false;
}

/** Deletes `dir`/host-running (a clean end: no process holds the host's shared memory). @throws StoreError when it cannot. */
export async function clearHostRunning(sfs: StoreFs, dir: string): Promise<void> {
  const path = join(dir, HOST_RUNNING_MARKER);
  try {
    await removeIfPresentWith(sfs, path);
  } catch (err) {
    throw storeIoError('delete the marker of a running host', path, err);
  }
}
