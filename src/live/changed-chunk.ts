// A delta's changed 64 KiB chunk: which of its 4 KiB blocks differ from the
// parent's (docs/FORMAT.md, section 9). Where the parent's block digests are
// known (BlockDigests, kept in memory with the parent), the copy's blocks
// are hashed and compared with them: the parent's bytes are not read. Else
// the copy is compared with the parent's bytes, read through its chain.
import { BLOCKS_PER_CHUNK, BLOCK_SIZE, IMAGE_CHUNK_SIZE, blockDigestsOf, type BlockDigests } from '../format/index.js';
import type { ChainImage, Generation, PendingImage } from '../store/index.js';
import { ParentUnreadable } from './errors.js';

const ZEROS = new Uint8Array(BLOCK_SIZE);

/** True when every byte of `bytes` (at most BLOCK_SIZE of them) is zero: one memcmp, not a loop. */
export function isZero(bytes: Uint8Array): boolean {
  return Buffer.compare(bytes, ZEROS.subarray(0, bytes.length)) === 0;
}

/** What a delta capture's changed chunks are compared with and written to. */
export class ChangedChunks {
  readonly #image: PendingImage;
  readonly #parent: Generation;
  readonly #parentBlocks: BlockDigests | null;
  readonly #blocks: BlockDigests;
  readonly #openParent: () => Promise<ChainImage>;
  #parentImage: ChainImage | null = null;
  readonly #old = new Uint8Array(IMAGE_CHUNK_SIZE);
  readonly #digests = new BigUint64Array(BLOCKS_PER_CHUNK);
  /** Data bytes of blocks written. */
  written = 0;

  /**
   * For a delta written to `image` against `parent`, whose block digests
   * are `parentBlocks` (null: none known); the new image's block digests
   * are recorded in `blocks`. `openParent` opens the parent's image, at the
   * first chunk that needs its bytes, at most once (close() closes it).
   */
  constructor(image: PendingImage, parent: Generation, parentBlocks: BlockDigests | null, blocks: BlockDigests, openParent: () => Promise<ChainImage>) {
    this.#image = image;
    this.#parent = parent;
    this.#parentBlocks = parentBlocks;
    this.#blocks = blocks;
    this.#openParent = openParent;
  }

  /**
   * Writes the blocks of chunk `k` (image bytes [k * IMAGE_CHUNK_SIZE, ...),
   * whose bytes now are `bytes`) that differ from the parent's, in order.
   * `hashed`, when given, are the block digests of these very bytes
   * (blockDigestsOf()), computed already.
   * @throws ParentUnreadable when the parent's bytes were needed and could not be read.
   */
  async put(k: number, bytes: Uint8Array, hashed: BigUint64Array | null = null): Promise<void> {
    const a = k * IMAGE_CHUNK_SIZE;
    const psize = this.#parent.manifest.imageSize;
    const first = k * BLOCKS_PER_CHUNK;
    // Past the parent's end its blocks are zeros: compared as bytes, exactly.
    if (a >= psize) {
      for (let p = 0; p < bytes.length; p += BLOCK_SIZE) {
        const block = bytes.subarray(p, Math.min(p + BLOCK_SIZE, bytes.length));
        if (!isZero(block)) await this.#put(first + p / BLOCK_SIZE, block, false);
      }
      this.#learned(k, hashed);
      return;
    }
    // The parent's digests of a chunk of the same length, where its table knows them.
    if (this.#parentBlocks?.known(k) === true && Math.min(IMAGE_CHUNK_SIZE, psize - a) === bytes.length) {
      let now: BigUint64Array = this.#digests.subarray(0, Math.ceil(bytes.length / BLOCK_SIZE));
      if (hashed !== null) now = hashed.subarray(0, now.length);
      else blockDigestsOf(bytes, now);
      for (let i = 0; i < now.length; i++) {
        if (now[i] !== this.#parentBlocks.block(first + i)) await this.#put(first + i, bytes.subarray(i * BLOCK_SIZE, Math.min((i + 1) * BLOCK_SIZE, bytes.length)));
      }
      this.#blocks.setChunk(k, now);
      return;
    }
    // The parent's bytes of this chunk (zeros past its end), block by block against the copy.
    const before = this.#old.subarray(0, bytes.length);
    before.fill(0);
    try {
      this.#parentImage ??= await this.#openParent();
      await this.#parentImage.read(before, 0, Math.min(a + bytes.length, psize) - a, a);
    } catch (err) {
      throw new ParentUnreadable(this.#parent.sequence, err);
    }
    for (let p = 0; p < bytes.length; p += BLOCK_SIZE) {
      const q = Math.min(p + BLOCK_SIZE, bytes.length);
      const block = bytes.subarray(p, q);
      if (Buffer.compare(block, before.subarray(p, q)) !== 0) await this.#put(first + p / BLOCK_SIZE, block);
    }
    this.#learned(k, hashed);
  }

  /**
   * The new image's chunk `k` holds the bytes just compared: its block
   * digests are `hashed` where given, else unknown. Not hashed here (that
   * would cost what comparing bytes saved): a later capture learns them.
   */
  #learned(k: number, hashed: BigUint64Array | null): void {
    if (hashed !== null) this.#blocks.setChunk(k, hashed);
    else this.#blocks.forget(k);
  }

  /** Writes block `index` (`zero`: whether it is all zeros, when the caller knows). */
  async #put(index: number, block: Uint8Array, zero = isZero(block)): Promise<void> {
    await this.#image.putBlock(index, zero ? null : block);
    if (!zero) this.written += block.length;
  }

  /** Closes the parent's image if it was opened. */
  async close(): Promise<void> {
    await this.#parentImage?.close();
  }
}
