import { constants } from 'node:os';
import { ShmHostError } from '../errors.js';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // Several names share a number (EAGAIN/EWOULDBLOCK); keep the first, the usual one.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The name of an errno value (`EINVAL`), or `errno N` for one the platform does not name. */
export function errnoName(value: number): string {
  return errnoNames.get(value) ?? `errno ${value}`;
}

/**
 * A failed system call: `code` is the errno name, as in Node's own errors,
 * so callers can branch on `err.code === 'EPERM'`.
 */
export class SysError extends ShmHostError {
  readonly errno: number;
  readonly syscall: string;

  constructor(syscall: string, errnoValue: number, detail?: string) {
    const code = errnoName(errnoValue);
    super(code, `${syscall}${detail ? ` (${detail})` : ''} failed: ${code}`);
    this.name = 'SysError';
    this.errno = errnoValue;
    this.syscall = syscall;
  }
}

/** Throws a SysError for `syscall` when `result` is negative (the libc failure convention). */
export function check<T extends number | bigint>(syscall: string, result: T, errnoValue: number, detail?: string): T {
  if (result < 0) throw new SysError(syscall, errnoValue, detail);
  return result;
}
