// The store's error class, and the translation of file-system failures
// into one line that names the problem and the fix.
import { ShmHostError } from '../errors.js';

/** What kind of problem a StoreError is, for callers that branch on it. */
export type StoreErrorCode =
  | 'NOT_A_DIRECTORY'
  | 'NOT_FOUND'
  | 'UNSAFE_DIRECTORY'
  | 'LOCKED'
  | 'READ_ONLY'
  | 'CLOSED'
  | 'BAD_OPTION'
  | 'BAD_MANIFEST'
  | 'CORRUPT'
  | 'NO_SPACE'
  | 'READ_ONLY_FS'
  | 'PERMISSION'
  | 'IO'
  | 'EXISTS'
  | 'NOT_A_FILE'
  | 'TRUNCATED'
  | 'BAD_PATH'
  | 'INTERRUPTED_RESTORE';

/**
 * Something about the snapshot directory a person can act on. `message` is
 * one line: the problem, then (after a colon) the fix; `path` is the file or
 * directory concerned and `hint` the fix alone; the original error, when
 * there is one, is `cause`.
 */
export class StoreError extends ShmHostError {
  declare readonly code: StoreErrorCode;
  declare readonly path: string;
  declare readonly hint: string;

  constructor(code: StoreErrorCode, problem: string, options: { path: string; hint: string; cause?: unknown; option?: string }) {
    super(code, problem, options);
    this.name = 'StoreError';
  }
}

/**
 * The snapshot directory's path itself is unusable: it cannot be created,
 * is not a directory, is not ours, cannot be searched or read, or its name
 * is too long or loops. Nothing was read or written; the fix is another
 * path (or the path's owner or mode). `code` is the StoreError code of the
 * cause (NOT_A_DIRECTORY, UNSAFE_DIRECTORY, PERMISSION, READ_ONLY_FS,
 * BAD_PATH...).
 */
export class DirectoryPathError extends StoreError {
  constructor(error: StoreError) {
    super(error.code, error.problem, { path: error.path, hint: error.hint, cause: error.cause, option: error.option });
    this.name = 'DirectoryPathError';
  }
}

/**
 * Another process holds the directory's lock: `holderPid` is its pid, when
 * the lock file names a living one, and `holderRole` what it said it does
 * (`host`, `restore`, `import`, `prune`; null when it did not say).
 */
export class DirectoryLockedError extends StoreError {
  readonly holderPid: number | null;
  readonly holderRole: string | null;

  constructor(dir: string, holderPid: number | null, holderRole: string | null = null) {
    super('LOCKED', `snapshot directory ${dir} is in use by another shm-host (${holderLine(holderPid, holderRole)})`, {
      path: dir, hint: holderRole === null || holderRole === 'host' ? 'stop it or use another snapshot directory' : `wait for the ${holderRole} to finish or use another snapshot directory`, option: 'dir',
    });
    this.name = 'DirectoryLockedError';
    this.holderPid = holderPid;
    this.holderRole = holderRole;
  }
}

const DOING: Readonly<Record<string, string>> = { restore: 'restoring', import: 'importing', prune: 'pruning' };

/** `pid 4242, restoring`, `pid 4242` (a host, or a holder that did not say), `pid unknown`: who holds a lock, in words. */
export function holderLine(pid: number | null, role: string | null): string {
  const which = pid === null ? 'pid unknown' : `pid ${pid}`;
  const doing = role === null ? undefined : DOING[role];
  return doing === undefined ? which : `${which}, ${doing}`;
}

const ANOTHER_DIR = 'use another snapshot directory';

/** What an errno means for a snapshot directory, and what to do about it. */
const explanations: Record<string, { code: StoreErrorCode; what: string; hint: string }> = {
  ENOSPC: { code: 'NO_SPACE', what: 'no space left on the device', hint: `free some space or ${ANOTHER_DIR}` },
  EDQUOT: { code: 'NO_SPACE', what: 'the disk quota is exhausted', hint: `free some space or ${ANOTHER_DIR}` },
  EFBIG: { code: 'NO_SPACE', what: 'the file is larger than the file system allows', hint: ANOTHER_DIR },
  EROFS: { code: 'READ_ONLY_FS', what: 'the file system is read-only', hint: `remount it read-write or ${ANOTHER_DIR}` },
  EACCES: { code: 'PERMISSION', what: 'permission denied', hint: `check the directory's owner and mode or ${ANOTHER_DIR}` },
  EPERM: { code: 'PERMISSION', what: 'operation not permitted', hint: `check the directory's owner and mode or ${ANOTHER_DIR}` },
  EIO: { code: 'IO', what: 'an I/O error from the device', hint: `check the disk (dmesg) or ${ANOTHER_DIR}` },
  ENOENT: { code: 'NOT_FOUND', what: 'it no longer exists (was the directory removed?)', hint: `recreate it or ${ANOTHER_DIR}` },
  ENOTDIR: { code: 'NOT_A_DIRECTORY', what: 'a part of the path is not a directory', hint: ANOTHER_DIR },
  ELOOP: { code: 'BAD_PATH', what: 'too many symbolic links (a loop?)', hint: `fix the links or ${ANOTHER_DIR}` },
  ENAMETOOLONG: { code: 'BAD_PATH', what: 'the path or one of its names is too long', hint: 'use a shorter path (at most 4095 bytes, 255 per name)' },
};

/**
 * Wraps a failed file operation (`op`, e.g. "write snapshot image") on
 * `path` as a StoreError whose message says what happened and what to do.
 */
export function storeIoError(op: string, path: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const name = errorCode(err) ?? 'unknown error';
  const known = explanations[name];
  if (known) return new StoreError(known.code, `cannot ${op} ${path}: ${known.what} (${name})`, { path, hint: known.hint, cause: err, option: 'dir' });
  const detail = err instanceof Error ? err.message : String(err);
  return new StoreError('IO', `cannot ${op} ${path}: ${detail}`, { path, hint: ANOTHER_DIR, cause: err, option: 'dir' });
}

/** The errno name of a Node or libc error, or undefined. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
