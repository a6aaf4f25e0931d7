// Writing the host's words into a live header (docs/FORMAT.md section 5):
// through the host's own mapping, never backwards, then a futex wake.
import { HEADER_SIZE, MAGIC, MAGIC_AT, wordsOf } from '../format/index.js';
import { Mapping, futexWake } from '../sys/index.js';

/**
 * Maps the header of `fd` and, when it is configured and `current(bytes)`
 * (the word as published now) is not above `value`, calls `write(bytes)`
 * and wakes every FUTEX_WAIT on the 4-byte word at `wakeAt` (shared futex:
 * it reaches every process mapping the file). Returns whether it wrote.
 */
export function publishWords(fd: number, value: bigint, current: (bytes: Uint8Array) => bigint, write: (bytes: Uint8Array) => void, wakeAt: number): boolean {
  const mapping = Mapping.map(fd, HEADER_SIZE, { writable: true });
  try {
    const bytes = mapping.bytes;
    if (wordsOf(bytes).load(MAGIC_AT) !== MAGIC || current(bytes) > value) return false;
    write(bytes);
    try {
      futexWake(mapping, wakeAt);
    } catch {
      // Waiters still see the word within their wait slice (20 ms).
    }
    return true;
  } finally {
    mapping.close();
  }
}
