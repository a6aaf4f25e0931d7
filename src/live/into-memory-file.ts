// Copying the first bytes of a file into a memory file that a child will
// map: what a restore and a carried-over memory have in common.
import type { ChunkDigests } from '../format/index.js';
import { Mapping, dataRuns, fstat, ftruncate } from '../sys/index.js';
import { copySparse, zeroData } from './sparse-copy.js';

/**
 * Copies [0, length) of file `from` into the memory file `to`, growing `to`
 * to at least max(length, minSize); holes of `from` stay holes. Afterwards
 * `to` reads exactly like those bytes, and zeros past them, even if it held
 * data before. Bytes are read straight into a mapping of `to` (one copy; a
 * read past the end of `from` is only a short read, never a fault) and,
 * with `digests`, hashed there. Failures are CopyErrors saying which side
 * failed. Returns `to`'s size afterwards and the data bytes copied.
 */
export async function copyIntoMemoryFile(
  from: number, to: number, length: number, minSize: number, digests?: ChunkDigests,
): Promise<{ size: number; bytesCopied: number }> {
  const before = (await fstat(to)).size;
  const size = Math.max(before, length, minSize);
  if (before < size) await ftruncate(to, size);
  // A destination that already holds data needs the source's zeros written too.
  const dirty = before > 0 && dataRuns(to, 0, before).length > 0;
  let bytesCopied = 0;
  if (length > 0) {
    const mapping = Mapping.map(to, length, { writable: true });
    try {
      ({ bytesCopied } = await copySparse(from, to, 0, length, { size: length, destination: mapping.bytes, dense: dirty, digests }));
    } finally {
      mapping.close();
    }
  }
  if (dirty && before > length) await zeroData(to, length, before);
  return { size, bytesCopied };
}
