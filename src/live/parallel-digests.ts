// Hashing the chunks of a large mapping on every core.
//
// A delta capture of a 1 GiB file hashes the whole file to find what
// changed, and on one core that hashing is most of the capture (XXH3-64
// read from a mapping larger than the caches: docs/BENCHMARKS.md). Worker
// threads share the process's address space, so a worker can hash the same
// mapping in place, from its address, with no copy: the calling thread
// hashes one share of the chunks while the workers hash the others. Small
// inputs stay on the calling thread, where a message round trip would cost
// more than it saves.
import { BLOCK_SIZE, blockDigestsOf, wideDigestOf } from '../format/index.js';
import type { MappingWindows } from '../sys/index.js';
import { workers, type DigestPiece } from './hash-workers.js';

export type { DigestPiece } from './hash-workers.js';

/** Bytes below which everything is hashed on the calling thread. */
const MIN_PARALLEL_BYTES = 32 << 20;
/** Pieces each worker holds at once (at most): the worker's reply waits for this thread's event loop, so one piece alone would leave it idle while this thread is busy. */
const IN_FLIGHT = 3;

/** Chunks per piece of work handed out: small enough to keep every thread busy to the end, large enough that messages cost nothing (16 MiB of 64 KiB chunks). */
const BATCH = 256;

/**
 * The digests of chunks `indexes` (wideDigestOf: XXH3-64, and the high
 * half of XXH3-128; chunk k is bytes [k * chunkSize, min((k + 1) *
 * chunkSize, size)) of the mapping `windows` views), in order, as consecutive pieces aligned with
 * `indexes`, each yielded as soon as it and every piece before it are
 * hashed. Worker threads take pieces from the front, up to IN_FLIGHT each
 * at a time; this thread hashes a piece itself whenever the next one to
 * yield is not ready (so what the caller does with a piece overlaps the
 * workers' hashing). Every listed chunk must be all data: reading a hole
 * through a mapping of a memory file would allocate it. Workers read the mapping through its address:
 * it must stay mapped until the generator has finished or been returned
 * (return() waits for the pieces in flight). A worker that fails leaves
 * its pieces to this thread. With `withBlocks` (aligned with `indexes`), each
 * marked chunk is copied first, and its digest and its BLOCK_SIZE blocks'
 * digests are of the copy (DigestPiece.blocks): the same bytes, although
 * the mapping may change meanwhile.
 */
export async function* digestsInOrder(
  windows: MappingWindows, indexes: readonly number[], chunkSize: number, size: number, withBlocks: Uint8Array | null = null,
): AsyncGenerator<DigestPiece> {
  const pieces = Math.ceil(indexes.length / BATCH);
  const helpers = indexes.length * chunkSize >= MIN_PARALLEL_BYTES ? workers() : [];
  const mapping = windows.mapping;
  const per = Math.ceil(chunkSize / BLOCK_SIZE);
  const done: Array<DigestPiece | undefined> = new Array(pieces);
  const bounds = (p: number): [number, number] => [p * BATCH, Math.min(indexes.length, (p + 1) * BATCH)];
  const withBlocksOf = (from: number, to: number): Uint8Array | null => {
    const marks = withBlocks?.subarray(from, to) ?? null;
    return marks !== null && marks.includes(1) ? marks : null;
  };
  let copy: Uint8Array | null = null;
  const local = (p: number): DigestPiece => {
    const [from, to] = bounds(p);
    const marks = withBlocksOf(from, to);
    const out = new BigUint64Array(to - from);
    const highs = new BigUint64Array(to - from);
    const blocks = marks === null ? null : new BigUint64Array((to - from) * per);
    for (let i = from; i < to; i++) {
      const a = indexes[i]! * chunkSize;
      const b = Math.min(a + chunkSize, size);
      if (marks === null || marks[i - from] === 0) {
        [out[i - from], highs[i - from]] = wideDigestOf(windows.get(a, b));
        continue;
      }
      const c = (copy ??= new Uint8Array(chunkSize)).subarray(0, b - a);
      c.set(windows.get(a, b));
      [out[i - from], highs[i - from]] = wideDigestOf(c);
      blockDigestsOf(c, blocks!.subarray((i - from) * per, (i - from + 1) * per));
    }
    return { digests: out, highs, blocks };
  };
  let claimed = 0; // pieces [0, claimed) are taken, by a worker or this thread
  const failures: unknown[] = []; // a piece no thread could hash
  let wake: (() => void) | null = null;
  // A few pieces each, but never so many that this thread is left none of
  // a small input to hash (3 pieces on 2 cores: one each, not three to one).
  const inFlight = Math.min(IN_FLIGHT, Math.max(1, Math.floor(pieces / (helpers.length + 1))));
  const feeds = helpers.flatMap((worker) => Array.from({ length: inFlight }, () => worker)).map(async (worker) => {
    while (claimed < pieces && failures.length === 0) {
      const p = claimed++;
      const [from, to] = bounds(p);
      try {
        done[p] = await worker.digest({
          address: mapping.address, length: mapping.length, indexes: Float64Array.from(indexes.slice(from, to)), withBlocks: withBlocksOf(from, to), chunkSize, blockSize: BLOCK_SIZE, size,
        });
      } catch {
        // This worker is done for; its piece is this thread's. Never a rejection nobody handles.
        try {
          done[p] = local(p);
        } catch (error) {
          failures.push(error);
        }
        return;
      } finally {
        wake?.();
      }
    }
  });
  try {
    for (let p = 0; p < pieces; p++) {
      // A worker's reply that arrived while the caller was busy is read
      // only on a turn of the event loop: take that turn before hashing a
      // piece here that a worker would hash anyway.
      if (done[p] === undefined && claimed > p && helpers.length > 0) await new Promise((resolve) => setImmediate(resolve));
      while (done[p] === undefined) {
        if (failures.length > 0) throw failures[0];
        if (claimed <= p) {
          claimed = p + 1;
          done[p] = local(p);
        } else if (claimed < pieces) {
          // The next piece is a worker's: hash one more meanwhile, then let
          // the workers' replies in (and their next claims) before the next.
          const q = claimed++;
          done[q] = local(q);
          await new Promise((resolve) => setImmediate(resolve));
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      }
      const piece = done[p]!;
      done[p] = undefined;
      yield piece;
    }
  } finally {
    // Never end (and let the caller unmap) while a worker still reads the mapping.
    claimed = pieces;
    await Promise.all(feeds);
  }
}

/** All of digestsInOrder() at once: the digests and the high halves of the 128-bit digests, aligned with `indexes`. */
export async function digestChunks(windows: MappingWindows, indexes: readonly number[], chunkSize: number, size: number): Promise<{ digests: BigUint64Array; highs: BigUint64Array }> {
  const out = new BigUint64Array(indexes.length);
  const highsOut = new BigUint64Array(indexes.length);
  let at = 0;
  for await (const { digests, highs } of digestsInOrder(windows, indexes, chunkSize, size)) {
    out.set(digests, at);
    highsOut.set(highs, at);
    at += digests.length;
  }
  return { digests: out, highs: highsOut };
}
