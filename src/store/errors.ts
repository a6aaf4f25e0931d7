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
  | 'TRUNCATED';

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

/** Another host holds the directory's lock: `holderPid` is its pid, when the lock file names a living one. */
export class DirectoryLockedError extends StoreError {
  readonly holderPid: number | null;

  constructor(dir: string, holderPid: number | null) {
    const who = holderPid === null ? 'pid unknown' : `pid ${holderPid}`;
    super('LOCKED', `snapshot directory ${dir} is in use by another shm-host (${who})`, { path: dir, hint: 'stop it or use another snapshot directory', option: 'dir' });
    this.name = 'DirectoryLockedError';
    this.holderPid = holderPid;
  }
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
