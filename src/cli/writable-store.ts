// import, prune and restore change a snapshot directory, so they take its
// lock like a host does, and refuse, in one line naming the holder, a
// directory another writer holds: importing under a running child would be
// pointless (its next capture supersedes the import), a host prunes by its
// own --keep, and two writers of one directory could mix two histories.
import { DirectoryLockedError, SnapshotStore, holderLine, missingDirectories, removeNewDirectories, sweptLine } from '../store/index.js';
import { CommandFailure } from './errors.js';
import type { OutputStream } from './io.js';

/**
 * Opens `dir` for writing (`what`: import, prune), turning "another writer
 * holds the lock" into one line; what the open's sweep removed is written
 * to `stderr` (the command's). `create` false (prune): a directory that
 * does not exist is refused as the read commands refuse it, and nothing is made.
 */
export async function openForWriting(dir: string, what: string, stderr: OutputStream, create = true): Promise<SnapshotStore> {
  // Keep every generation there is: retention on commit must not delete any
  // (the host applies its own --keep at its next capture).
  try {
    // What the open's sweep removed is said, as a host logs it: a generation whose manifest went loses its data here.
    const onSwept = (paths: readonly string[]): void => void stderr.write(`shm-host: ${what}: ${sweptLine(paths)}\n`);
    return await SnapshotStore.open(dir, { keep: Number.MAX_SAFE_INTEGER, writer: what, create, onSwept });
  } catch (err) {
    throw lockedFailure(err, what, dir);
  }
}

/**
 * `err` as the command's one line when it is a DirectoryLockedError (exit
 * 1, code LOCKED): who holds `dir` (a host, a restore, an import or a
 * prune, with its pid) and what to do; any other error as it is.
 */
export function lockedFailure(err: unknown, what: string, dir: string): unknown {
  if (!(err instanceof DirectoryLockedError)) return err;
  if (err.holderRole === null || err.holderRole === 'host') {
    return new CommandFailure('LOCKED', `cannot ${what}: a host is running on ${dir} (${holderLine(err.holderPid, null)})`, `stop the host first, then ${what} again`, { cause: err });
  }
  return new CommandFailure('LOCKED', `cannot ${what}: another shm-host is writing ${dir} (${holderLine(err.holderPid, err.holderRole)})`, `wait for the ${err.holderRole} to finish, then ${what} again`, { cause: err });
}

/**
 * Runs `write`, the work of `what` (import, restore) into `dir`; when it
 * fails and `dir` did not exist before, removes the directories it made
 * (removeNewDirectories: only while they hold nothing but its lock), then
 * rethrows.
 */
export async function undoingNewDirectory<T>(dir: string, what: string, write: () => Promise<T>): Promise<T> {
  const created = await missingDirectories(dir);
  try {
    return await write();
  } catch (err) {
    await removeNewDirectories(created, what);
    throw err;
  }
}
