// Carrying a memory file's contents into another, holes kept as holes.
import { fstatSync } from 'node:fs';
import { copyIntoMemoryFile } from './into-memory-file.js';

/**
 * Copies every byte of memory file `fromFd` into `toFd`, growing `toFd` to
 * `fromFd`'s size if it is smaller. Pages never written stay holes. The
 * dead child's state goes straight into the next child's new file (see
 * carryOver, and the supervisor when nothing else can be restored). If
 * `toFd` already holds data, the copy writes zeros too, so afterwards it
 * reads exactly like `fromFd` (and zeros past its size).
 */
export async function copyMemoryFile(fromFd: number, toFd: number): Promise<{ size: number; bytesCopied: number }> {
  return copyIntoMemoryFile(fromFd, toFd, fstatSync(fromFd).size, 0);
}
