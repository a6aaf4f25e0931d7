// What opening a snapshot directory for writing does before the store
// exists: the directory made and checked, the lock taken, an interrupted
// restore refused, debris swept, and the next sequence decided.
import { asPathError, prepareDirectory, refuseUnfinishedRestore, requireDirectory } from './directory.js';
import { DirectoryLockedError, storeIoError } from './errors.js';
import type { StoreFs } from './fs.js';
import { DirectoryLock } from './lock.js';
import { readSequenceFloor } from './sequence-floor.js';
import { settleDirectory } from './settle.js';

/**
 * Prepares `dir` for a writer (`what`, written in the lock file; `create`:
 * make `dir` when missing, else require it, see StoreOptions.create) and
 * returns its lock, held, with the next sequence: one above the newest
 * generation and above the recorded sequence floor (sequence-floor.ts),
 * and the sequences stray files hold. `onSwept` is told the data files
 * the sweep removed (settleDirectory()), when there are any.
 * @throws DirectoryLockedError when another writer holds the lock;
 * DirectoryPathError for a path that cannot be used (INTERRUPTED_RESTORE
 * for a directory an unfinished restore marked); StoreError otherwise.
 */
export async function openForWriting(
  sfs: StoreFs, dir: string, what: string, create = true, onSwept?: (paths: readonly string[]) => void,
): Promise<{ lock: DirectoryLock; nextSequence: number; strays: ReadonlySet<number> }> {
  if (!create) await requireDirectory(sfs, dir);
  await prepareDirectory(sfs, dir);
  // The lock file is the first file written: a directory on a read-only
  // file system, or one this user cannot write, fails here.
  const lock = await DirectoryLock.acquire(sfs, dir, what).catch((err: unknown) => {
    throw err instanceof DirectoryLockedError ? err : asPathError(storeIoError('take the lock of', dir, err));
  });
  try {
    // With the lock held: a restore that runs holds it too (we would not be here), so a marker is an interrupted one's.
    await refuseUnfinishedRestore(sfs, dir);
    const { nextSequence, strays, swept } = await settleDirectory(sfs, dir);
    if (swept.length > 0) onSwept?.(swept);
    const floor = await readSequenceFloor(sfs, dir);
    return { lock, nextSequence: Math.max(nextSequence, floor + 1), strays };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
