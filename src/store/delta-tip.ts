// The parent of the next delta: the newest generation a store wrote or
// restored, with the digests of its image's 64 KiB chunks, which a capture
// compares the live file with (docs/FORMAT.md, section 9), and of its 4 KiB
// blocks where a capture learned them (BlockDigests: memory only).
import { IMAGE_CHECKSUM_ALGORITHM, IMAGE_CHUNK_SIZE, type BlockDigests, type ChunkDigests } from '../format/index.js';
import { deltaAllowed, type ChainLimits } from './retention.js';
import type { Generation } from './types.js';

export interface DeltaParent {
  readonly generation: Generation;
  readonly digests: ChunkDigests;
  /** Its blocks' digests where known; null: none. */
  readonly blocks: BlockDigests | null;
}

export class DeltaTip {
  #tip: DeltaParent | null = null;

  /**
   * Keeps `generation` as the parent to be, with its chunk digests and its
   * block digests (null, or a table of another size: none known); chunk
   * digests of another chunk size or checksum algorithm forget it instead.
   */
  remember(generation: Generation, digests: ChunkDigests, blocks: BlockDigests | null = null): void {
    const usable = digests.chunkSize === IMAGE_CHUNK_SIZE && generation.manifest.checksum.algorithm === IMAGE_CHECKSUM_ALGORITHM
      && digests.size === generation.manifest.imageSize;
    this.#tip = usable ? { generation, digests, blocks: blocks?.size === digests.size ? blocks : null } : null;
  }

  forget(): void {
    this.#tip = null;
  }

  /** The parent for a capture of an `imageSize`-byte image, or null when a full generation is due (none, a smaller image, or a chain bound). */
  parentFor(imageSize: number, limits: ChainLimits): DeltaParent | null {
    const tip = this.#tip;
    return tip !== null && imageSize >= tip.generation.manifest.imageSize && deltaAllowed(tip.generation.manifest.chain, imageSize, limits) ? tip : null;
  }
}
