// Copying the first bytes of a file into a memory file that a child will
// map: what a restore and a carried-over memory have in common.
import type { ChunkDigests } from '../format/index.js';
import { CHUNK_SIZE } from '../format/index.js';
import { Mapping, WINDOW_BYTES, dataRuns, fstat, ftruncate, type MappingWindows } from '../sys/index.js';
import { copySparse, zeroData } from './sparse-copy.js';

/**
 * Bytes of the destination mapped at once: whole checksum chunks, and far
 * below what one JavaScript buffer can span on every Node version (4 GiB on
 * Node 20), so a file of any size is copied the same way, a window at a time.
 */
export const COPY_WINDOW = 1024 * CHUNK_SIZE;

/** Data bytes from which a copy reads straight into a mapping of the destination rather than through a buffer. */
const MAPPED_COPY_FROM = 16 * CHUNK_SIZE;

/**
 * Whether a copy of [0, length) of file `from` reads straight into a
 * mapping of its destination: when it holds at least MAPPED_COPY_FROM data
 * bytes (not holes); it looks no further than that.
 */
export function copiesThroughMapping(from: number, length: number): boolean {
  let found = 0;
  for (const [start, end] of dataRuns(from, 0, length, MAPPED_COPY_FROM)) found += end - start;
  return found >= MAPPED_COPY_FROM;
}

/**
 * Copies [0, length) of file `from` into the memory file `to`, growing `to`
 * to at least max(length, minSize); holes of `from` stay holes. Afterwards
 * `to` reads exactly like those bytes, and zeros past them, even if it held
 * data before. Bytes are read straight into a mapping of `to` (one copy; a
 * read past the end of `from` is only a short read, never a fault) and,
 * with `digests`, hashed there, through one window of COPY_WINDOW bytes at
 * a time (with less than MAPPED_COPY_FROM data bytes, through a buffer);
 * or through `into`, a writable mapping of `to` of at least `length` bytes
 * that the caller keeps. Failures are CopyErrors saying
 * which side failed. Returns `to`'s size afterwards and the data bytes copied.
 */
export async function copyIntoMemoryFile(
  from: number, to: number, length: number, minSize: number, digests?: ChunkDigests, into?: MappingWindows,
): Promise<{ size: number; bytesCopied: number }> {
  const before = (await fstat(to)).size;
  const size = Math.max(before, length, minSize);
  if (before < size) await ftruncate(to, size);
  // A destination that already holds data gets zeros over that data first
  // (in the pages it already has: writing the source's holes as zeros would
  // allocate every page of a large sparse file), then only the source's data.
  if (before > 0 && dataRuns(to, 0, before).length > 0) await zeroData(to, 0, before);
  let bytesCopied = 0;
  if (length > 0) {
    // The caller's mapping when it has one (it goes on to write into the
    // same pages: a second mapping would fault them all in again). Little
    // data goes through a buffer instead: a view of a large window counts
    // in full as memory outside V8's heap, and asks for a full garbage
    // collection (4 ms on the host's path to its child, docs/BENCHMARKS.md).
    const mapping = into === undefined && copiesThroughMapping(from, length) ? Mapping.map(to, length, { writable: true }) : null;
    const step = into === undefined ? COPY_WINDOW : WINDOW_BYTES;
    try {
      for (let start = 0; start < length; start += step) {
        const end = Math.min(length, start + step);
        const destination = into !== undefined ? into.get(start, end) : mapping?.view(start, end - start);
        const copied = await copySparse(from, to, start, end, { size: length, destination, destinationBase: start, digests });
        bytesCopied += copied.bytesCopied;
      }
    } finally {
      mapping?.close();
    }
  }
  return { size, bytesCopied };
}
