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
import { F_SEAL_SHRINK, Mapping, dataRuns, getSeals, readFully, writeFully, type Run } from '../sys/index.js';
import type { CaptureOptions } from './capture-options.js';

/** A delta's parent: its image size and its blocks' digests. */
export interface Parent {
  readonly generation: Generation;
  readonly digests: ChunkDigests;
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
    else if (!zero) await writeFully(image.fd, block, 0, block.length, at);
  }
}

/**
 * The tail [start, size) of the live file `fd` into a delta: every block
 * hashed, the changed ones written. `start` is a block boundary. Returns
 * the data bytes written.
 */
export async function putChangedTail(fd: number, image: PendingImage, parent: Parent, start: number, digests: ChunkDigests, options: CaptureOptions): Promise<number> {
  const size = digests.size;
  if (start >= size) return 0;
  const runs = dataRuns(fd, start, size);
  // Straight from a mapping when the file cannot shrink (a memory file the
  // host sealed): reading a mapped page past a shrunk end would be SIGBUS.
  // Otherwise through a buffer, read with pread.
  let sealed = false;
  try {
    sealed = (getSeals(fd) & F_SEAL_SHRINK) !== 0;
  } catch {
    sealed = false;
  }
  const mapping = sealed ? Mapping.map(fd, size) : null;
  const buffer = sealed ? null : new Uint8Array(STEP);
  const copy = new Uint8Array(BLOCK_SIZE);
  let written = 0;
  let r = 0;
  try {
    for (let a = start; a < size; a += STEP) {
      const b = Math.min(a + STEP, size);
      while (r < runs.length && runs[r]![1] <= a) r++;
      const inStep: Run[] = [];
      for (let i = r; i < runs.length && runs[i]![0] < b; i++) inStep.push([Math.max(runs[i]![0], a), Math.min(runs[i]![1], b)]);
      let view: Uint8Array;
      let base: number;
      if (mapping) {
        view = mapping.bytes;
        base = 0;
      } else {
        view = buffer!;
        base = a;
        view.fill(0, 0, b - a);
        for (const [r0, r1] of inStep) await readFully(fd, view, r0 - a, r1 - r0, r0);
      }
      let k = 0;
      for (let p = a; p < b; p += BLOCK_SIZE) {
        const q = Math.min(p + BLOCK_SIZE, size);
        const index = p / BLOCK_SIZE;
        while (k < inStep.length && inStep[k]![1] <= p) k++;
        const hasData = k < inStep.length && inStep[k]![0] < q;
        const known = parentDigest(parent, index, q - p);
        // A block in a hole reads as zeros without being touched.
        const now = hasData ? digestOf(view.subarray(p - base, q - base)) : zeroDigest(q - p);
        if (now === known) {
          digests.setDigest(index, now);
          continue;
        }
        let bytes = view.subarray(p - base, q - base);
        let d = now;
        if (mapping && hasData) {
          // The child may be writing this block: keep the digest of the bytes stored.
          copy.set(bytes);
          bytes = copy.subarray(0, q - p);
          d = digestOf(bytes);
          if (d === known) {
            digests.setDigest(index, d);
            continue;
          }
        }
        digests.setDigest(index, d);
        const zero = !hasData || (d === zeroDigest(q - p) && bytes.every((x) => x === 0));
        await image.putBlock(index, zero ? null : bytes);
        if (!zero) written += q - p;
      }
      if (options.throttle) await options.throttle({ phase: 'tail', offset: a, length: b - a });
    }
  } finally {
    mapping?.close();
  }
  return written;
}
