// The local directory a restore from a replica writes, and how the next
// restore tells an interrupted one from a directory in use. The restore
// first makes a marker file durable in the empty directory, then writes and
// syncs every file, and removes the marker last: until that removal is on
// the disk, nothing in the directory counts. A power loss or a kill at any
// moment before it leaves the marker, so the next restore (or a host
// started with --replica) clears what the interrupted one wrote and
// restores again, rather than mistaking a partial chain, or debris, for a
// directory in use and starting from it. The restore holds the directory's
// lock (the store's, with its pid) from before the marker until after its
// removal: a second restore, an import or a host on the same directory
// meanwhile is refused, naming it, and never takes its files for debris.
import { join } from 'node:path';
import {
  DirectoryLock, CLEAN_END_MARKER, directoryPathProblem, LOCK_NAME, RESTORE_MARKER, SEQUENCE_FLOOR_NAME, TEMP_PREFIX, clearRestoreMarker, fsyncDirectoryWith, markRestoreInProgress, prepareDirectory, parseGenerationFileName,
  realStoreFs, removeIfPresentWith,
  type StoreFs,
} from '../store/index.js';
import { ReplicaError } from './errors.js';

/**
 * What a local directory is to a restore: `missing`, `empty` (nothing, or
 * only the lock file and a host's mark of a clean end: a writer that wrote
 * no generation), `interrupted` (the restore's marker, and only names a
 * restore writes or leaves alone: the lock file, a host's mark,
 * temporary downloads, generations' files and the sequence floor), or
 * `in use` (anything else).
 */
export type LocalRestoreState = 'missing' | 'empty' | 'interrupted' | 'in use';

/**
 * Names a restore never deletes: the lock, its own marker, and a host's
 * mark of a clean end (which spares the next host its search for writers).
 */
const keptByRestore = (name: string): boolean => [RESTORE_MARKER, LOCK_NAME, CLEAN_END_MARKER].includes(name);

const writtenByRestore = (name: string): boolean =>
  keptByRestore(name) || name === SEQUENCE_FLOOR_NAME || name.startsWith(TEMP_PREFIX) || parseGenerationFileName(name) !== null;

/** The state of `dir` for a restore, and its names. @throws DirectoryPathError when it is no directory; ReplicaError LOCAL when it cannot be read. */
async function inspect(sfs: StoreFs, dir: string): Promise<{ state: LocalRestoreState; names: string[] }> {
  let names: string[];
  try {
    names = await sfs.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'missing', names: [] };
    // A path that is no directory (a file, or under one): said as the store says it for every command.
    const problem = await directoryPathProblem(dir, true, sfs);
    if (problem !== null) throw problem;
    throw new ReplicaError('LOCAL', `cannot read ${dir} (${code ?? String(e)})`, { hint: 'restore into an empty directory you can write', path: dir, retryable: false, cause: e });
  }
  if (names.every((n) => n === LOCK_NAME || n === CLEAN_END_MARKER)) return { state: 'empty', names };
  return { state: names.includes(RESTORE_MARKER) && names.every(writtenByRestore) ? 'interrupted' : 'in use', names };
}

/** The state of `dir` for a restore (see LocalRestoreState). @throws ReplicaError LOCAL when it cannot be read. */
export async function localRestoreState(dir: string, sfs: StoreFs = realStoreFs): Promise<LocalRestoreState> {
  return (await inspect(sfs, dir)).state;
}

/**
 * `dir`'s state and names, unless it is in use (`locked`: this process
 * holds its lock).
 * @throws DirectoryLockedError when another writer holds it (naming its
 * pid); ReplicaError LOCAL when it is in use otherwise, or cannot be read.
 */
export async function requireRestorable(sfs: StoreFs, dir: string, locked = false): Promise<{ state: LocalRestoreState; names: string[] }> {
  const found = await inspect(sfs, dir);
  // A host (or another restore) at work: say who, rather than only that the directory is not empty.
  const holder = found.state === 'missing' || locked ? null : await DirectoryLock.heldBy(sfs, dir);
  if (holder !== null) throw holder;
  if (found.state === 'in use') throw new ReplicaError('LOCAL', `${dir} is not empty (${found.names.length} entries)`, { hint: 'restore into an empty or new directory', path: dir, retryable: false });
  return found;
}

const localFailure = (what: string, dir: string, err: unknown): ReplicaError =>
  new ReplicaError('LOCAL', `cannot ${what} ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { hint: 'restore into a directory you can create and write', path: dir, retryable: false, cause: err });

/**
 * Makes `dir` ready for a restore, with its lock held and the marker
 * durable in it: a missing one is created (0700, as the store does, each
 * new directory durable in its parent), the lock taken (for `restore`),
 * then, with it held, an interrupted restore's files are removed. Returns
 * the lock, which finishRestore releases.
 * @throws DirectoryLockedError (a StoreError, LOCKED, naming the holder's
 * pid) when another restore, a host, an import or a prune holds it;
 * DirectoryPathError when `dir` cannot be made or is no directory;
 * ReplicaError LOCAL when `dir` is in use or cannot be written.
 */
export async function beginRestore(sfs: StoreFs, dir: string, url: string): Promise<DirectoryLock> {
  // Created as the store creates a snapshot directory (0700, durable, ours), and refused in its words when it cannot be
  // (a file system that takes no directories, permission denied...). Made meanwhile by another restore or host: the lock decides.
  if ((await requireRestorable(sfs, dir)).state === 'missing') await prepareDirectory(sfs, dir);
  const lock = await DirectoryLock.acquire(sfs, dir, 'restore').catch((err: unknown) => {
    throw err instanceof ReplicaError || (err as Error).name === 'DirectoryLockedError' ? err : localFailure('lock', dir, err);
  });
  try {
    await prepareLocked(sfs, dir, url);
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}

/** With the lock held: the state looked at again (it may have changed before the lock was ours), debris cleared, the marker made durable. */
async function prepareLocked(sfs: StoreFs, dir: string, url: string): Promise<void> {
  const { state, names } = await requireRestorable(sfs, dir, true);
  try {
    if (state === 'interrupted') {
      for (const name of names) if (!keptByRestore(name)) await removeIfPresentWith(sfs, join(dir, name));
      await fsyncDirectoryWith(sfs, dir);
      return;
    }
    await markRestoreInProgress(sfs, dir, `shm-host is restoring this directory from ${url}; if no restore is running, it was interrupted: the next one clears it and starts again\n`);
  } catch (err) {
    if (err instanceof ReplicaError) throw err;
    throw localFailure('write', dir, err);
  }
}

/** The restore's commit point: every file in `dir` is durable; the marker goes, and that is made durable. @throws ReplicaError LOCAL. */
export async function finishRestore(sfs: StoreFs, dir: string): Promise<void> {
  try {
    await clearRestoreMarker(sfs, dir);
  } catch (err) {
    throw localFailure('write', dir, err);
  }
}
