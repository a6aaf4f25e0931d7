// Writing a capture's bytes (docs/FORMAT.md, section 9): the head (the
// rings from the copy taken between the scans, and the tail up to the next
// 64 KiB chunk boundary) from memory, the rest of the tail from the live
// file. A full image gets every block that holds data; a delta gets every
// block of the head, and the tail's blocks that differ from the parent's.
//
// Change detection needs no help from the child. Each 64 KiB chunk of the
// tail (IMAGE_CHUNK_SIZE, the image checksum's chunk) is hashed straight
// from a mapping of the live file, without a copy and on every core
// (parallel-digests.ts), and compared with the parent's 128-bit digest of
// the same chunk (format/wide-digest.ts): equal, the chunk is the parent's
// and costs nothing more. Otherwise (or where the parent's high half is
// not known) the chunk is copied out, hashed again in the
// copy (the child may write it meanwhile: the digest kept must be that of
// the bytes stored), and changed-chunk.ts writes the copy's 4 KiB blocks
// that differ from the parent's: compared with the parent's block digests
// where they are known (BlockDigests, kept in memory from earlier deltas),
// else with the parent's bytes, read through its chain. A full capture
// hashes 64 KiB chunks only; a delta learns the block digests of each
// chunk that turns out unchanged while it hashes it (from a copy, on the
// workers, or this thread below 32 MiB), so the first delta after a full
// generation or a restore hashes every chunk's blocks once: about 180-200
// ms more for 1 GiB here; and of a changed chunk from its copy. A file not
// sealed against shrinking is read through pread, not hashed ahead, and
// its deltas always compare bytes. Holes are never touched: their digest
// is the zero chunk's.
import { BLOCKS_PER_CHUNK, BLOCK_SIZE, IMAGE_CHUNK_SIZE, headEnd, type BlockDigests, type ChunkDigests, wideDigestOf, zeroWide } from '../format/index.js';
import type { ChainImage, Generation, PendingImage } from '../store/index.js';
import { F_SEAL_SHRINK, Mapping, MappingWindows, RunCursor, dataRuns, getSeals, noHoleBelow, readFully, type Run } from '../sys/index.js';
import { digestsInOrder, type DigestPiece } from './parallel-digests.js';
import { ChangedChunks, isZero } from './changed-chunk.js';
import type { CaptureOptions } from './capture-options.js';

const CHUNK = IMAGE_CHUNK_SIZE;

/** A delta's parent: its generation, its image's chunk digests (IMAGE_CHUNK_SIZE chunks) and its block digests where known (null: none). */
export interface Parent {
  readonly generation: Generation;
  readonly digests: ChunkDigests;
  readonly blocks: BlockDigests | null;
}

/** Bytes looked at between two throttle calls. */
const STEP = 1 << 20;

/** Tail chunks looked at between two turns of the event loop, when little changed (64 MiB). */
const YIELD_EVERY = 1024;

/**
 * Writes `head` (image bytes [0, head.length), where head.length is a
 * chunk boundary or the image's size) into the image and records its
 * chunks' digests. A delta holds every block of it; a full image gets its
 * blocks that are not all zeros, contiguous ones in one write.
 */
export async function putHead(image: PendingImage, head: Uint8Array, digests: ChunkDigests): Promise<void> {
  for (let at = 0; at < head.length; at += CHUNK) digests.set(at / CHUNK, head.subarray(at, Math.min(at + CHUNK, head.length)));
  let run = -1; // start of the non-zero blocks not yet written (full image)
  for (let at = 0; at < head.length; at += BLOCK_SIZE) {
    const block = head.subarray(at, Math.min(at + BLOCK_SIZE, head.length));
    const zero = isZero(block);
    if (image.kind === 'delta') {
      await image.putBlock(at / BLOCK_SIZE, zero ? null : block);
      continue;
    }
    if (!zero && run < 0) run = at;
    if (zero && run >= 0) {
      await image.write(head, run, at - run, run);
      run = -1;
    }
  }
  // The last run, up to the head's end (which need not be a block boundary).
  if (run >= 0) await image.write(head, run, head.length - run, run);
}

const EMPTY = 0;
const WHOLE = 1;
const PARTLY = 2;

/**
 * Per chunk of [start, size) (start a chunk boundary), whether it holds no
 * data (EMPTY), only data (WHOLE) or both (PARTLY): one byte each, not a
 * list of runs per chunk (16,384 small arrays for 1 GiB, held for the whole
 * capture); a PARTLY chunk's runs are found when it is copied.
 */
function chunkKinds(runs: readonly Run[], start: number, size: number): Uint8Array {
  const kinds = new Uint8Array(Math.ceil((size - start) / CHUNK));
  let r = 0;
  for (let i = 0, a = start; a < size; i++, a += CHUNK) {
    const b = Math.min(a + CHUNK, size);
    while (r < runs.length && runs[r]![1] <= a) r++;
    if (r >= runs.length || runs[r]![0] >= b) kinds[i] = EMPTY;
    else kinds[i] = runs[r]![0] <= a && runs[r]![1] >= b ? WHOLE : PARTLY;
  }
  return kinds;
}

/**
 * The parent's 128-bit digest of chunk `k` = [a, b) (wide-digest.ts: its
 * chunk digest and the high half) if its chunk spans the same bytes (zeros
 * past its end) and both halves are known, else undefined: the chunk is
 * then compared block by block.
 */
function parentChunkDigest(parent: Parent, k: number, a: number, b: number): readonly [bigint, bigint] | undefined {
  const psize = parent.generation.manifest.imageSize;
  if (a >= psize) return zeroWide(b - a);
  if (Math.min(CHUNK, psize - a) !== b - a) return undefined;
  const low = parent.digests.get(k);
  const high = parent.digests.high(k);
  return low === undefined || high === undefined ? undefined : [low, high];
}

/**
 * A delta of `parent`: the head (image bytes [0, head.length), from memory:
 * putHead()) and the tail [head.length, size) of the live file `fd`, where
 * every 4 KiB block that differs from the parent's image is written.
 * head.length is a chunk boundary or the image's size (headEnd()). Fills
 * `digests` (IMAGE_CHUNK_SIZE chunks) for the whole image, and `blocks`
 * (made from the parent's: `new BlockDigests(size, parent.blocks)`) with
 * the block digests this capture learned or kept. The tail's hashing
 * starts before the head is written: where it has workers (a tail of
 * 32 MiB or more on more than one core), they hash while this thread
 * writes; a chunk whose block digests the parent's table lacks is hashed
 * from a copy, with its blocks, and if it did not change, they are known
 * from then on. `openParent` opens the parent's image (through its chain),
 * called at most once, when a changed chunk's parent blocks are not known;
 * it is closed here. Returns the data bytes of the tail written.
 */
export async function putDelta(
  fd: number, image: PendingImage, parent: Parent, openParent: () => Promise<ChainImage>, head: Uint8Array, digests: ChunkDigests, blocks: BlockDigests, options: CaptureOptions,
): Promise<number> {
  const size = digests.size;
  const start = head.length;
  for (let k = 0; k < start / CHUNK; k++) blocks.forget(k); // the head is written whole
  if (start >= size) {
    await putHead(image, head, digests);
    return 0;
  }
  // Dense (the usual state of a long-running child): one run, without a
  // walk of the whole file for holes.
  const runs: Run[] = noHoleBelow(fd, size) ? [[start, size]] : dataRuns(fd, start, size);
  // Straight from a mapping when the file cannot shrink (a memory file the
  // host sealed): reading a mapped page past a shrunk end would be SIGBUS.
  // Otherwise through pread.
  let sealed = false;
  try {
    sealed = (getSeals(fd) & F_SEAL_SHRINK) !== 0;
  } catch {
    sealed = false;
  }
  // The host's kept mapping of its current file, else one for this capture.
  const kept = sealed ? options.kept ?? null : null;
  const live = !sealed ? null : kept !== null ? kept.acquire(size) : new MappingWindows(Mapping.map(fd, size));
  const copy = new Uint8Array(CHUNK);
  const changed = new ChangedChunks(image, parent.generation, parent.blocks, blocks, openParent);
  let hashed: AsyncGenerator<DigestPiece> | null = null;
  let stepped = start;
  try {
    // Where the data is, per chunk; and the chunks hashed straight from the
    // mapping (all data, with a parent digest to compare with), on every core.
    const kinds = chunkKinds(runs, start, size);
    const cursor = new RunCursor(runs);
    const direct: number[] = [];
    if (live !== null) {
      for (let k = start / CHUNK, i = 0; k * CHUNK < size; k++, i++) {
        if (kinds[i] === WHOLE && parentChunkDigest(parent, k, k * CHUNK, Math.min(k * CHUNK + CHUNK, size)) !== undefined) direct.push(k);
      }
    }
    // Hashed with their blocks: those whose block digests are not known yet.
    const withBlocks = Uint8Array.from(direct, (k) => (blocks.known(k) ? 0 : 1));
    // Their digests arrive in order, piece by piece: the changed chunks of
    // one piece are written while the workers hash the next ones.
    hashed = live === null || direct.length === 0 ? null : digestsInOrder(live, direct, CHUNK, size, withBlocks);
    // The first piece asked for now: workers take their pieces and hash
    // while this thread writes the head. Without workers this thread hashes
    // the first piece first: the same work in another order. Its failure
    // is met below, or dropped with the capture.
    let first = hashed?.next() ?? null;
    first?.catch(() => {});
    await putHead(image, head, digests);
    let piece: DigestPiece = { digests: new BigUint64Array(0), highs: new BigUint64Array(0), blocks: null };
    let pieceStart = 0; // the index in `direct` of piece.digests[0]
    let j = 0;
    for (let k = start / CHUNK, i = 0; k * CHUNK < size; k++, i++) {
      const a = k * CHUNK;
      const b = Math.min(a + CHUNK, size);
      if (options.throttle && a - stepped >= STEP) {
        await options.throttle({ phase: 'tail', offset: stepped, length: a - stepped });
        stepped = a;
      }
      // A huge file that barely changed would otherwise hold the event loop for the whole walk.
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
      const empty = kinds[i] === EMPTY;
      const parentDigest = parentChunkDigest(parent, k, a, b);
      let now: readonly [bigint, bigint] | undefined = empty ? zeroWide(b - a) : undefined;
      let hashedBlocks: BigUint64Array | null = null;
      if (direct[j] === k) {
        if (j - pieceStart >= piece.digests.length) {
          pieceStart += piece.digests.length;
          piece = (await (first ?? hashed!.next())).value as DigestPiece;
          first = null;
        }
        const at = j++ - pieceStart;
        now = [piece.digests[at]!, piece.highs[at]!];
        if (withBlocks[j - 1] === 1) hashedBlocks = piece.blocks!.subarray(at * BLOCKS_PER_CHUNK, (at + 1) * BLOCKS_PER_CHUNK);
      }
      if (parentDigest !== undefined && now !== undefined && now[0] === parentDigest[0] && now[1] === parentDigest[1]) {
        digests.setDigest(k, now[0], now[1]);
        // Unchanged: its blocks are the parent's (kept), or those just hashed with it.
        if (hashedBlocks !== null) blocks.setChunk(k, hashedBlocks);
        else if (empty) blocks.setZero(k);
        continue;
      }
      // Copy out the data runs (holes as zeros), then decide on the copy.
      const bytes = copy.subarray(0, b - a);
      const inChunk: Run[] = kinds[i] === WHOLE ? [[a, b]] : cursor.within(a, b);
      if (kinds[i] !== WHOLE) bytes.fill(0);
      for (const [r0, r1] of inChunk) {
        if (live) bytes.set(live.get(r0, r1), r0 - a);
        else await readFully(fd, bytes, r0 - a, r1 - r0, r0);
      }
      const d = empty ? zeroWide(b - a) : wideDigestOf(bytes);
      digests.setDigest(k, d[0], d[1]);
      if (parentDigest !== undefined && d[0] === parentDigest[0] && d[1] === parentDigest[1]) continue;
      // A chunk hashed with its blocks from a copy of these same bytes (its digest says so): they need no hashing again.
      await changed.put(k, bytes, hashedBlocks !== null && now !== undefined && d[0] === now[0] && d[1] === now[1] ? hashedBlocks : null);
    }
  } finally {
    try {
      // Its workers stop reading the mapping before it is released.
      await hashed?.return(undefined);
    } finally {
      if (kept !== null) kept.release();
      else live?.mapping.close();
      await changed.close();
    }
  }
  return changed.written;
}
