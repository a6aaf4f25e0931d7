// Undoing what a failed writer created: an import or a restore into a
// directory that did not exist must not leave it behind holding only the
// lock it took, which reads as a snapshot directory that lost its
// generations. Only what the command made goes, and only when nothing
// else was written there.
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { errorCode } from './errors.js';
import { realStoreFs, type StoreFs } from './fs.js';
import { DirectoryLock } from './lock.js';
import { LOCK_NAME, RESTORE_MARKER } from './names.js';

/**
 * The directories opening `dir` for writing would create: `dir` and each
 * missing parent, deepest first; [] when `dir` exists (or cannot be looked
 * at: then it is not one to create either).
 */
export async function missingDirectories(dir: string, sfs: StoreFs = realStoreFs): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    try {
      await sfs.stat(d);
      break;
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') break;
      missing.push(d);
    }
  }
  return missing;
}

/**
 * Removes `created` (missingDirectories() of a writer's directory, taken
 * before it ran), deepest first, after its writer (`what`) failed: the
 * directory only while it holds nothing but its lock file (and a restore's
 * marker), with that lock taken again and the file removed while held; each
 * parent only while empty. Anything else in them, or another writer
 * holding the lock, leaves them as they are. Never throws: the writer's own
 * failure is what the caller reports.
 */
export async function removeNewDirectories(created: readonly string[], what: string, sfs: StoreFs = realStoreFs): Promise<void> {
  const dir = created[0];
  if (dir === undefined) return;
  try {
    const lock = await DirectoryLock.acquire(sfs, dir, what);
    try {
      const names = await sfs.readdir(dir);
      if (names.some((name) => name !== LOCK_NAME && name !== RESTORE_MARKER)) return;
      if (names.includes(RESTORE_MARKER)) await sfs.unlink(join(dir, RESTORE_MARKER));
      await lock.releaseRemoving();
    } finally {
      await lock.release();
    }
    for (const d of created) await fs.promises.rmdir(d);
  } catch {
    // Held by another writer, written meanwhile, or not ours to remove: left as it is.
  }
}
