// The digest of every 4 KiB block of a generation's image, kept in memory
// beside its chunk digests, so that a delta can tell which blocks of a
// changed 64 KiB chunk differ from the parent's without reading the
// parent's bytes: those come from the page cache when the parent is warm
// (about 20-25 us per chunk here), are about twice that after the machine
// idled, and are disk reads once the store's pages were evicted (a 10 MiB
// scattered delta of 1 GiB then took 0.9 s, as long as a full copy). Never
// stored: it costs 8 bytes per block (2 MiB per GiB), and a block's digest
// is the same function as a chunk's (digestOf: XXH3-64) over 4 KiB.
import { xxh3Blocks } from '../sys/index.js';
import { BLOCK_SIZE, IMAGE_CHUNK_SIZE, zeroDigest } from './chunk-digests.js';

/** Blocks per 64 KiB chunk. */
export const BLOCKS_PER_CHUNK = IMAGE_CHUNK_SIZE / BLOCK_SIZE;

/**
 * Per 4 KiB block of an image of `size` bytes, its digest, known a whole
 * 64 KiB chunk at a time (a chunk's blocks are known together or not at
 * all). The image's last block may be shorter: its digest is of its bytes.
 */
export class BlockDigests {
  readonly size: number;
  readonly #digests: BigUint64Array;
  readonly #known: Uint8Array;

  /** A table for `size` bytes that knows no chunk, or a copy of what `from` knows of the chunks of equal length in both (its last chunk is dropped when the image grew). */
  constructor(size: number, from?: BlockDigests) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`an image size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.#digests = new BigUint64Array(Math.ceil(size / BLOCK_SIZE));
    this.#known = new Uint8Array(Math.ceil(size / IMAGE_CHUNK_SIZE));
    if (from === undefined) return;
    // A chunk whose length differs (the last of either) is not carried over.
    const chunks = Math.min(this.#known.length, from.#known.length);
    for (let k = 0; k < chunks; k++) {
      if (from.#known[k] === 0 || chunkLength(this.size, k) !== chunkLength(from.size, k)) continue;
      this.#known[k] = 1;
    }
    this.#digests.set(from.#digests.subarray(0, Math.min(this.#digests.length, from.#digests.length)));
  }

  /** Chunks in the table. */
  get chunks(): number {
    return this.#known.length;
  }

  /** True when the digests of chunk `k`'s blocks are known. */
  known(k: number): boolean {
    return this.#known[k] === 1;
  }

  /** The digest of block `b` (image bytes [b * BLOCK_SIZE, ...)); meaningful only when its chunk is known. */
  block(b: number): bigint {
    return this.#digests[b]!;
  }

  /** Records the digests of chunk `k`'s blocks: `digests[i]` is block k * BLOCKS_PER_CHUNK + i's, for as many blocks as the chunk has. */
  setChunk(k: number, digests: ArrayLike<bigint>): void {
    const first = k * BLOCKS_PER_CHUNK;
    const n = blocksIn(this.size, k);
    for (let i = 0; i < n; i++) this.#digests[first + i] = digests[i]!;
    this.#known[k] = 1;
  }

  /** Chunk `k` holds only zeros. */
  setZero(k: number): void {
    const first = k * BLOCKS_PER_CHUNK;
    const n = blocksIn(this.size, k);
    for (let i = 0; i < n; i++) this.#digests[first + i] = zeroDigest(Math.min(BLOCK_SIZE, this.size - (first + i) * BLOCK_SIZE));
    this.#known[k] = 1;
  }

  /** Forgets chunk `k`'s digests. */
  forget(k: number): void {
    this.#known[k] = 0;
  }
}

/** Bytes in chunk `k` of an image of `size` bytes (0 past its end). */
function chunkLength(size: number, k: number): number {
  return Math.max(0, Math.min(IMAGE_CHUNK_SIZE, size - k * IMAGE_CHUNK_SIZE));
}

/** Blocks in chunk `k` of an image of `size` bytes. */
function blocksIn(size: number, k: number): number {
  return Math.ceil(chunkLength(size, k) / BLOCK_SIZE);
}

/**
 * The digests (digestOf) of the 4 KiB blocks of `chunk` (the bytes of one
 * chunk, at most IMAGE_CHUNK_SIZE; its last block may be shorter) into
 * `out[0..]`.
 */
export function blockDigestsOf(chunk: Uint8Array, out: BigUint64Array): void {
  xxh3Blocks(chunk, BLOCK_SIZE, out);
}
