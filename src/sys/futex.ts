// Waking futex(2) waiters on a word of a shared mapping. The key of a shared
// (not FUTEX_PRIVATE_FLAG) futex on a MAP_SHARED file mapping is the file's
// page and offset, so a wake through the host's mapping reaches children
// waiting through theirs (futex(2), "FUTEX_WAKE"; docs/FORMAT.md section 5).
import { c, errno } from './libc.js';
import { check } from './errors.js';
import type { Mapping } from './mmap.js';

const FUTEX_WAKE = 1;
const INT_MAX = 0x7fff_ffff;
// The syscall number differs by architecture (asm/unistd.h).
const SYS_FUTEX = process.arch === 'arm64' ? 98 : 202;

/**
 * Wakes up to `count` (default: all) processes sleeping in FUTEX_WAIT on the
 * 4-byte word at `byteOffset` of `mapping`. Returns how many were woken.
 * `byteOffset` must be 4-aligned and inside the mapping (RangeError);
 * a failing call is a SysError.
 */
export function futexWake(mapping: Mapping, byteOffset: number, count = INT_MAX): number {
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0 || byteOffset + 4 > mapping.length) {
    throw new RangeError(`futexWake: byte offset ${byteOffset} is not a 4-aligned word inside the ${mapping.length}-byte mapping`);
  }
  const woken = c.syscall_futex(SYS_FUTEX, mapping.address + BigInt(byteOffset), FUTEX_WAKE, count, null, null, 0) as number;
  return check('futex(FUTEX_WAKE)', woken, errno());
}
