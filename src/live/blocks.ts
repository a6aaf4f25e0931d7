// Writing a capture's bytes block by block (docs/FORMAT.md, section 9): the
// rings from the copy taken between the scans, the tail straight from the
// live file. A full image gets every block that holds data; a delta gets
// the rings' blocks always, and the tail's blocks whose digest differs from
// the parent's.
//
// Change detection needs no help from the child: every tail block is hashed
// (XXH3-64, see BLOCK_SIZE in src/format) straight from a mapping of the
// live file, without a copy, and compared with the parent's digest of the
// same block. Only a block whose digest differs is copied out, hashed again
// in the copy (the child may write it meanwhile: the digest kept must be
// that of the bytes stored) and written. Holes are never touched: their
// digest is the zero block's.
import { BLOCK_SIZE, ChunkDigests, digestOf, zeroDigest } from '../format/index.js';
import type { Generation, PendingImage } from '../store/index.js';
import { F_SEAL_SHRINK, Mapping, dataRuns, getSeals, readFully, type Run } from '../sys/index.js';
import type { CaptureOptions } from './capture-options.js';

/** A delta's parent: its image size and its blocks' digests. */
export interface Parent {
  readonly generation: Generation;
  readonly digests: ChunkDigests;
  /** Digests of its 64 KiB superblocks, where known. */
  readonly coarse?: ChunkDigests;
}

/** Bytes looked at per step of the tail. */
const STEP = 1 << 20;

/** The parent's digest of block `b` if its block has the same length as ours, else undefined (the block changed). */
function parentDigest(parent: Parent, b: number, length: number): bigint | undefined {
  const psize = parent.generation.manifest.imageSize;
  const start = b * BLOCK_SIZE;
  if (start >= psize) return zeroDigest(length); // past the parent's end: its image reads as zeros there
  if (Math.min(BLOCK_SIZE, psize - start) !== length) return undefined;
  return parent.digests.get(b);
}

/**
 * Writes the rings copy `rings` (image bytes [0, rings.length), a whole
 * number of blocks or the whole image) into the image and records its
 * blocks' digests. A delta holds every one of them.
 */
export async function putRings(image: PendingImage, rings: Uint8Array, digests: ChunkDigests): Promise<void> {
  const size = digests.size;
  for (let at = 0; at < rings.length; at += BLOCK_SIZE) {
    const block = rings.subarray(at, Math.min(at + BLOCK_SIZE, rings.length, size));
    const d = digestOf(block);
    digests.setDigest(at / BLOCK_SIZE, d);
    const zero = d === zeroDigest(block.length) && block.every((x) => x === 0);
    if (image.kind === 'delta') await image.putBlock(at / BLOCK_SIZE, zero ? null : block);
    else if (!zero) await image.write(block, 0, block.length, at);
  }
}

/** Bytes per superblock: the coarse digest a capture compares first, so that unchanged regions cost one hash call per 64 KiB instead of sixteen. */
export const SUPERBLOCK = 64 * 1024;
const PER_SUPER = SUPERBLOCK / BLOCK_SIZE;

/**
 * The tail [start, size) of the live file `fd` into a delta: every block
 * whose digest differs from the parent's is written. `start` is a block
 * boundary. Fills `digests` (every block) and `coarse` (the superblocks
 * whose digest is known to be that of the bytes stored). Returns the data
 * bytes written.
 *
 * Per superblock (64 KiB): when the parent's coarse digest is known, the
 * superblock is hashed once straight from the mapping; equal, its blocks
 * are the parent's. Otherwise the superblock is copied out (data runs only:
 * holes are never touched) and everything is decided on the copy: its
 * coarse digest, each block's digest, the blocks written. Deciding on a
 * copy keeps every digest kept that of the bytes stored, however the child
 * writes meanwhile.
 */
export async function putChangedTail(
  fd: number, image: PendingImage, parent: Parent, start: number, digests: ChunkDigests, coarse: ChunkDigests, options: CaptureOptions,
): Promise<number> {
  const size = digests.size;
  if (start >= size) return 0;
  const runs = dataRuns(fd, start, size);
  // Straight from a mapping when the file cannot shrink (a memory file the
  // host sealed): reading a mapped page past a shrunk end would be SIGBUS.
  // Otherwise through pread.
  let sealed = false;
  try {
    sealed = (getSeals(fd) & F_SEAL_SHRINK) !== 0;
  } catch {
    sealed = false;
  }
  const mapping = sealed ? Mapping.map(fd, size) : null;
  const copy = new Uint8Array(SUPERBLOCK);
  const psize = parent.generation.manifest.imageSize;
  let written = 0;
  let r = 0;
  let stepped = start;
  try {
    for (let k = Math.floor(start / SUPERBLOCK); k * SUPERBLOCK < size; k++) {
      const a = Math.max(k * SUPERBLOCK, start);
      const b = Math.min((k + 1) * SUPERBLOCK, size);
      while (r < runs.length && runs[r]![1] <= a) r++;
      const inSuper: Run[] = [];
      for (let i = r; i < runs.length && runs[i]![0] < b; i++) inSuper.push([Math.max(runs[i]![0], a), Math.min(runs[i]![1], b)]);
      const whole = a === k * SUPERBLOCK && (b === (k + 1) * SUPERBLOCK || b === size);
      const fullOfData = inSuper.length === 1 && inSuper[0]![0] === a && inSuper[0]![1] === b;
      const known = whole && (Math.min(SUPERBLOCK, psize - a) === b - a) ? parent.coarse?.get(k) : undefined;
      if (known !== undefined && mapping !== null && (fullOfData || inSuper.length === 0)) {
        const now = fullOfData ? digestOf(mapping.bytes.subarray(a, b)) : zeroDigest(b - a);
        if (now === known && inheritBlocks(parent, digests, a, b)) {
          coarse.setDigest(k, now);
          continue;
        }
      }
      // Copy out the data runs (holes as zeros), then decide on the copy.
      copy.fill(0, 0, b - a);
      for (const [r0, r1] of inSuper) {
        if (mapping) copy.set(mapping.bytes.subarray(r0, r1), r0 - a);
        else await readFully(fd, copy, r0 - a, r1 - r0, r0);
      }
      if (whole) coarse.setDigest(k, inSuper.length === 0 ? zeroDigest(b - a) : digestOf(copy.subarray(0, b - a)));
      for (let p = a; p < b; p += BLOCK_SIZE) {
        const q = Math.min(p + BLOCK_SIZE, b);
        const index = p / BLOCK_SIZE;
        const hasData = inSuper.some(([r0, r1]) => r0 < q && r1 > p);
        const bytes = copy.subarray(p - a, q - a);
        const d = hasData ? digestOf(bytes) : zeroDigest(q - p);
        digests.setDigest(index, d);
        if (d === parentDigest(parent, index, q - p)) continue;
        const zero = !hasData || (d === zeroDigest(q - p) && bytes.every((x) => x === 0));
        await image.putBlock(index, zero ? null : bytes);
        if (!zero) written += q - p;
      }
      if (options.throttle && b - stepped >= STEP) {
        await options.throttle({ phase: 'tail', offset: stepped, length: b - stepped });
        stepped = b;
      }
    }
  } finally {
    mapping?.close();
  }
  return written;
}

/** Records the parent's digests for blocks [a, b); false when one is unknown. */
function inheritBlocks(parent: Parent, digests: ChunkDigests, a: number, b: number): boolean {
  for (let p = a; p < b; p += BLOCK_SIZE) {
    const d = parentDigest(parent, p / BLOCK_SIZE, Math.min(BLOCK_SIZE, b - p));
    if (d === undefined) return false;
  }
  for (let p = a; p < b; p += BLOCK_SIZE) digests.setDigest(p / BLOCK_SIZE, parentDigest(parent, p / BLOCK_SIZE, Math.min(BLOCK_SIZE, b - p))!);
  return true;
}
