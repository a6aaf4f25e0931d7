// The local directory a restore from a replica writes, and how the next
// restore tells an interrupted one from a directory in use. The restore
// first makes a marker file durable in the empty directory, then writes and
// syncs every file, and removes the marker last: until that removal is on
// the disk, nothing in the directory counts. A power loss or a kill at any
// moment before it leaves the marker, so the next restore (or a host
// started with --replica) clears what the interrupted one wrote and
// restores again, rather than mistaking a partial chain, or debris, for a
// directory in use and starting from it.
import fs from 'node:fs';
import { join } from 'node:path';
import {
  RESTORE_MARKER, TEMP_PREFIX, fsyncDirectoryWith, makeDirectoryDurably, parseGenerationFileName, realStoreFs, removeIfPresentWith, writeFullyWith, type StoreFs,
} from '../store/index.js';
import { ReplicaError } from './errors.js';

/**
 * What a local directory is to a restore: `missing`, `empty`,
 * `interrupted` (the marker, and only names a restore writes: temporary
 * downloads and generations' files), or `in use` (anything else, such as a
 * store's lock file: a host has used it since).
 */
export type LocalRestoreState = 'missing' | 'empty' | 'interrupted' | 'in use';

const writtenByRestore = (name: string): boolean => name === RESTORE_MARKER || name.startsWith(TEMP_PREFIX) || parseGenerationFileName(name) !== null;

/** The state of `dir` for a restore, and its names. @throws ReplicaError LOCAL when it cannot be read. */
async function inspect(sfs: StoreFs, dir: string): Promise<{ state: LocalRestoreState; names: string[] }> {
  let names: string[];
  try {
    names = await sfs.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'missing', names: [] };
    throw new ReplicaError('LOCAL', `cannot read ${dir} (${code ?? String(e)}): restore into an empty directory you can write`, { retryable: false, cause: e });
  }
  if (names.length === 0) return { state: 'empty', names };
  return { state: names.includes(RESTORE_MARKER) && names.every(writtenByRestore) ? 'interrupted' : 'in use', names };
}

/** The state of `dir` for a restore (see LocalRestoreState). @throws ReplicaError LOCAL when it cannot be read. */
export async function localRestoreState(dir: string, sfs: StoreFs = realStoreFs): Promise<LocalRestoreState> {
  return (await inspect(sfs, dir)).state;
}

/** `dir`'s state and names, unless it is in use. @throws ReplicaError LOCAL when it is, or cannot be read. */
export async function requireRestorable(sfs: StoreFs, dir: string): Promise<{ state: LocalRestoreState; names: string[] }> {
  const found = await inspect(sfs, dir);
  if (found.state === 'in use') throw new ReplicaError('LOCAL', `${dir} is not empty (${found.names.length} entries): restore into an empty or new directory`, { retryable: false });
  return found;
}

const localFailure = (what: string, dir: string, err: unknown): ReplicaError =>
  new ReplicaError('LOCAL', `cannot ${what} ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}): restore into a directory you can create and write`, { retryable: false, cause: err });

/**
 * Makes `dir` ready for a restore, with the marker durable in it: a missing
 * one is created (0700, as the store does, each new directory durable in
 * its parent), an interrupted restore's files are removed.
 * @throws ReplicaError LOCAL when `dir` is in use or cannot be written.
 */
export async function beginRestore(sfs: StoreFs, dir: string, url: string): Promise<void> {
  const { state, names } = await requireRestorable(sfs, dir);
  try {
    if (state === 'missing') await makeDirectoryDurably(sfs, dir, 0o700);
    if (state === 'interrupted') {
      for (const name of names) if (name !== RESTORE_MARKER) await removeIfPresentWith(sfs, join(dir, name));
      await fsyncDirectoryWith(sfs, dir);
      return;
    }
    const marker = join(dir, RESTORE_MARKER);
    const fd = await sfs.open(marker, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      const text = Buffer.from(`shm-host is restoring this directory from ${url}; if no restore is running, it was interrupted: the next one clears it and starts again\n`);
      await writeFullyWith(sfs, fd, text, 0, text.length, 0);
      await sfs.fsync(fd);
    } finally {
      await sfs.close(fd);
    }
    await fsyncDirectoryWith(sfs, dir);
  } catch (err) {
    if (err instanceof ReplicaError) throw err;
    throw localFailure(state === 'missing' ? 'create' : 'write', dir, err);
  }
}

/** The restore's commit point: every file in `dir` is durable; the marker goes, and that is made durable. @throws ReplicaError LOCAL. */
export async function finishRestore(sfs: StoreFs, dir: string): Promise<void> {
  try {
    await removeIfPresentWith(sfs, join(dir, RESTORE_MARKER));
    await fsyncDirectoryWith(sfs, dir);
  } catch (err) {
    throw localFailure('write', dir, err);
  }
}
