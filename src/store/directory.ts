// Creating and checking the snapshot directory before anything is written
// in it: it must be a directory, ours, and closed to other users' writes
// (anyone who can write it can replace the state a restart restores).
// Every problem with the path is a DirectoryPathError: the caller (the CLI)
// tells it apart from trouble inside a usable directory.
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { DirectoryPathError, StoreError, errorCode, storeIoError } from './errors.js';
import { makeDirectoryDurably, realStoreFs, type StoreFs } from './fs.js';
import { RESTORE_MARKER } from './names.js';

const mode = (m: number): string => `0${(m & 0o777).toString(8)}`;

/**
 * Makes sure `dir` exists (created 0700, with any missing parents, each
 * made durable by an fsync of its parent) and is a
 * directory this user owns that no other user can write. Throws a
 * DirectoryPathError naming the problem and the fix.
 */
export async function prepareDirectory(sfs: StoreFs, dir: string): Promise<void> {
  try {
    let stat = await statOrNull(sfs, dir, true);
    if (stat === null) {
      await createDirectory(sfs, dir);
      stat = await statOrNull(sfs, dir, true);
      if (stat === null) throw new StoreError('NOT_FOUND', `snapshot directory ${dir} vanished right after it was created`, { path: dir, hint: 'check what removes it' });
    }
    checkDirectory(dir, stat);
  } catch (err) {
    throw asPathError(err);
  }
}

/**
 * A directory an unfinished restore from a replica marked (RESTORE_MARKER)
 * may hold a partial chain: a host starting on it would run on an older
 * link, or on nothing, while the replica has the newest. Checked with the
 * lock held (a restore that runs holds it, so the marker found then is an
 * interrupted one's). Throws a DirectoryPathError (INTERRUPTED_RESTORE).
 */
export async function refuseUnfinishedRestore(sfs: StoreFs, dir: string): Promise<void> {
  let names: string[];
  try {
    names = await sfs.readdir(dir);
  } catch (err) {
    throw storeIoError('read the snapshot directory', dir, err);
  }
  if (!names.includes(RESTORE_MARKER)) return;
  throw asPathError(new StoreError('INTERRUPTED_RESTORE', `snapshot directory ${dir} holds a restore from a replica that did not finish (${RESTORE_MARKER})`, {
    path: dir,
    hint: `restore it from the replica again, or remove ${join(dir, RESTORE_MARKER)} to use what it holds`,
    option: 'replica',
  }));
}

/** Checks an existing `dir` for a read-only store: it must exist and be a directory. Throws a DirectoryPathError. */
export async function requireDirectory(sfs: StoreFs, dir: string): Promise<void> {
  try {
    const stat = await statOrNull(sfs, dir, false);
    if (stat === null) throw new StoreError('NOT_FOUND', `snapshot directory ${dir} does not exist`, { path: dir, hint: 'check the snapshot directory path', option: 'dir' });
    if (!stat.isDirectory()) throw notADirectory(dir, dir, false);
  } catch (err) {
    throw asPathError(err);
  }
}

/**
 * What is wrong with `dir` as a snapshot directory's path, from stat(2)
 * alone: null when it is a directory or does not exist; else the
 * DirectoryPathError opening a store gives (it is a file, a file stands
 * above it, permission denied...), with a writer's fix (`creates`: a path
 * that does not exist yet would do) or a reader's. For those that reach
 * the directory another way (the live channel's socket, a restore's
 * listing) and fail: they then say what is wrong with the path in the
 * words every other command uses.
 */
export async function directoryPathProblem(dir: string, creates: boolean, sfs: StoreFs = realStoreFs): Promise<DirectoryPathError | null> {
  try {
    const stat = await statOrNull(sfs, dir, creates);
    if (stat !== null && !stat.isDirectory()) throw notADirectory(dir, dir, creates);
    return null;
  } catch (err) {
    return asPathError(err);
  }
}

/** `err` (a StoreError about `dir`, or an errno error) as a DirectoryPathError. */
export function asPathError(err: unknown): DirectoryPathError {
  if (err instanceof DirectoryPathError) return err;
  if (err instanceof StoreError) return new DirectoryPathError(err);
  throw err;
}

async function createDirectory(sfs: StoreFs, dir: string): Promise<void> {
  try {
    await makeDirectoryDurably(sfs, dir, 0o700);
  } catch (err) {
    // mkdir(2) gives ENOENT when the parent exists but its file system
    // makes no directories in it (/proc, /sys): not "removed", but refused.
    const failed = (err as { path?: unknown }).path;
    if (errorCode(err) === 'ENOENT' && typeof failed === 'string') {
      throw new StoreError('BAD_PATH', `cannot create the snapshot directory ${dir}: ${dirname(failed)} takes no new directories (a file system like /proc, or it was just removed) (ENOENT)`, {
        path: dir,
        hint: 'use a snapshot directory on a disk file system',
        option: 'dir',
      });
    }
    throw storeIoError('create the snapshot directory', dir, err);
  }
}

function checkDirectory(dir: string, stat: fs.Stats): void {
  if (!stat.isDirectory()) throw notADirectory(dir, dir, true);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new StoreError('UNSAFE_DIRECTORY', `snapshot directory ${dir} belongs to user ${stat.uid}, not to this user (${uid})`, {
      path: dir,
      hint: `use a directory of your own, or chown it to user ${uid}`,
    });
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new StoreError('UNSAFE_DIRECTORY', `snapshot directory ${dir} can be written by other users (mode ${mode(stat.mode)})`, {
      path: dir,
      hint: `run chmod 700 ${dir}, or use another snapshot directory`,
      option: 'dir',
    });
  }
}

/**
 * `file` (`dir` itself, or a path above it) is not a directory. A writer
 * (`creates`) may also be given a path that does not exist yet; a reader
 * only the directory a host wrote.
 */
function notADirectory(dir: string, file: string, creates: boolean): StoreError {
  if (file !== dir) {
    return new StoreError('NOT_A_DIRECTORY', `snapshot path ${dir}: ${file} exists but is not a directory`, { path: file, hint: 'name a path whose parents are directories', option: 'dir' });
  }
  return new StoreError('NOT_A_DIRECTORY', `snapshot path ${dir} exists but is not a directory`, {
    path: dir,
    hint: creates ? 'name a directory, or a path that does not exist yet' : 'name the snapshot directory a host wrote',
    option: 'dir',
  });
}

/** The nearest path above `dir` that exists and is not a directory (what ENOTDIR from stat(2) of `dir` is about), or `dir`. */
async function fileAbove(sfs: StoreFs, dir: string): Promise<string> {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    const stat = await sfs.stat(d).catch(() => null);
    if (stat !== null) return stat.isDirectory() ? dir : d;
  }
  return dir;
}

async function statOrNull(sfs: StoreFs, dir: string, creates: boolean): Promise<fs.Stats | null> {
  try {
    return await sfs.stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw notADirectory(dir, await fileAbove(sfs, dir), creates);
    throw storeIoError('inspect the snapshot directory', dir, err);
  }
}
