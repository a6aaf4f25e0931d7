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
  /** Its chain as resolveChain() gives it (itself first, down to the full generation), when known here; null: read from the manifests. */
  readonly chain: readonly Generation[] | null;
}

export class DeltaTip {
  #tip: DeltaParent | null = null;

  /**
   * Keeps `generation` as the parent to be, with its chunk digests and its
   * block digests (null, or a table of another size: none known); chunk
   * digests of another chunk size or checksum algorithm, or not wide (no
   * 128-bit digests to compare chunks by), forget it instead.
   * Its chain is `chain` when given (resolveChain()'s, generation first);
   * else known for a full generation, and for a delta written against the
   * parent kept until now (that parent's chain and itself).
   */
  remember(generation: Generation, digests: ChunkDigests, blocks: BlockDigests | null = null, chain: readonly Generation[] | null = null): void {
    const usable = digests.chunkSize === IMAGE_CHUNK_SIZE && digests.wide && generation.manifest.checksum.algorithm === IMAGE_CHECKSUM_ALGORITHM
      && digests.size === generation.manifest.imageSize;
    const before = this.#tip;
    let known = chain !== null && chain[0] === generation ? chain : null;
    if (known === null && generation.manifest.kind === 'full') known = [generation];
    if (known === null && before?.chain != null && before.generation.sequence === generation.manifest.parent) known = [generation, ...before.chain];
    this.#tip = usable ? { generation, digests, blocks: blocks?.size === digests.size ? blocks : null, chain: known } : null;
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
