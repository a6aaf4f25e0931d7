// Carrying a memory file's contents into another, holes kept as holes.
import { fstatSync } from 'node:fs';
import { Mapping } from '../sys/index.js';
import { copySparse, dataRuns, zeroData } from '../store/index.js';
import { ftruncate } from '../store/io.js';

/**
 * Copies every byte of memory file `fromFd` into `toFd`, growing `toFd` to
 * `fromFd`'s size if it is smaller. Pages never written stay holes. The
 * dead child's state goes straight into the next child's new file (see
 * carryOver, and the supervisor when nothing else can be restored). If
 * `toFd` already holds data, the copy writes zeros too, so afterwards it
 * reads exactly like `fromFd` (and zeros past its size).
 */
export async function copyMemoryFile(fromFd: number, toFd: number): Promise<{ size: number; bytesCopied: number }> {
  const size = fstatSync(fromFd).size;
  const before = fstatSync(toFd).size;
  if (before < size) await ftruncate(toFd, size);
  const dirty = before > 0 && dataRuns(toFd, 0, before).length > 0;
  if (size === 0) return { size: before, bytesCopied: 0 };
  // Read straight into the new file's pages: one copy, and safe whatever
  // the old file does (a read past its end is only a short read).
  const mapping = Mapping.map(toFd, size, { writable: true });
  let bytesCopied: number;
  try {
    ({ bytesCopied } = await copySparse(fromFd, toFd, 0, size, { size, destination: mapping.bytes, dense: dirty }));
  } finally {
    mapping.close();
  }
  if (dirty && before > size) await zeroData(toFd, size, before);
  return { size: Math.max(size, before), bytesCopied };
}
