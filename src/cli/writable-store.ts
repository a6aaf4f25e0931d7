// import and prune change a snapshot directory, so they take its lock like a
// host does, and refuse, in one line, a directory a running host holds:
// importing under a running child would be pointless (its next capture
// supersedes the import), and a host prunes by its own --keep.
import { DirectoryLockedError, SnapshotStore } from '../store/index.js';
import { CommandFailure } from './errors.js';

/** Opens `dir` for writing (`what`: import, prune), turning "a host holds the lock" into one line. */
export async function openForWriting(dir: string, what: string): Promise<SnapshotStore> {
  // Keep every generation there is: retention on commit must not delete any
  // (the host applies its own --keep at its next capture).
  try {
    return await SnapshotStore.open(dir, { keep: Number.MAX_SAFE_INTEGER });
  } catch (err) {
    if (err instanceof DirectoryLockedError) {
      const holder = err.holderPid === null ? 'pid unknown' : `pid ${err.holderPid}`;
      throw new CommandFailure('LOCKED', `cannot ${what}: a host is running on ${dir} (${holder})`, `stop the host first, then ${what} again`, { cause: err });
    }
    throw err;
  }
}
