// A generation's chain: itself, its parent, ... down to the full generation
// its deltas apply to (docs/FORMAT.md, section 9), and the image it stands
// for, read block by block from whichever link holds each block.
import fs from 'node:fs';
import { StoreError, errorCode } from './errors.js';
import { readDeltaIndex, type DeltaIndex } from './delta-file.js';
import { readFullyWith, readSmallWith, type StoreFs } from './fs.js';
import { generationPaths } from './names.js';
import { readGeneration } from './read-generation.js';
import type { Generation } from './types.js';
import { fileSizeMismatch, fileUnopenable, linkName } from './unusable.js';

/**
 * The chain of `generation`, newest first, ending with a full generation:
 * [generation] for a full one. A link that is missing or unreadable, or that
 * disagrees with the chain (a parent whose chain length or block size does
 * not fit), gives a one-line reason instead.
 */
export async function resolveChain(sfs: StoreFs, dir: string, generation: Generation): Promise<Generation[] | string> {
  const chain = [generation];
  for (let g = generation; g.manifest.kind === 'delta';) {
    const parent = await readGeneration(sfs, dir, g.manifest.parent!);
    if ('unreadable' in parent) return `its chain is broken: ${parent.line}`;
    if (parent.manifest.chain.links !== g.manifest.chain.links - 1) {
      return `its chain is broken: generation ${parent.sequence} is not the parent generation ${g.sequence} was written against (chain lengths disagree)`;
    }
    chain.push(parent);
    g = parent;
  }
  return chain;
}

/** One open link: its file, and for a delta its index. */
interface Link {
  readonly generation: Generation;
  readonly fd: number;
  readonly size: number;
  readonly index: DeltaIndex | null;
}

/**
 * The whole image a generation stands for, read through its chain: each
 * block from the newest link that holds it (a delta's stored bytes, a
 * delta's zero block, or the full generation's image, zeros past its end).
 * Reads only with pread through StoreFs: a damaged file is an error or a
 * checksum mismatch, never a fault.
 */
export class ChainImage {
  readonly size: number;
  readonly blockSize: number;
  readonly chain: readonly Generation[];
  readonly #sfs: StoreFs;
  readonly #links: Link[];
  /** Per block: the link that holds it (index into #links; the full one is last). */
  readonly #owner: Uint16Array;
  /** Per block: where its bytes are in the owner's file, -1 for zeros. */
  readonly #where: Float64Array;
  /**
   * Blocks past the end of the parent's image that the generation's own
   * delta does not hold: zeros (docs/FORMAT.md, "The image a generation
   * stands for"), not its parent's. 0 for a full generation.
   */
  readonly pastParentEnd: number = 0;

  private constructor(sfs: StoreFs, chain: readonly Generation[], links: Link[], blockSize: number,
    /** With checkFiles 'salvage' (no file checksums, reserved header bytes not refused): what was wrong with a link but holds no data, one line each. */
    readonly skipped: readonly string[]) {
    this.#sfs = sfs;
    this.chain = chain;
    this.#links = links;
    this.size = chain[0]!.manifest.imageSize;
    this.blockSize = blockSize;
    const blocks = Math.ceil(this.size / blockSize);
    const full = links.length - 1;
    const baseSize = links[full]!.size;
    this.#owner = new Uint16Array(blocks).fill(full);
    this.#where = new Float64Array(blocks);
    for (let b = 0; b < blocks; b++) this.#where[b] = b * blockSize < baseSize ? b * blockSize : -1;
    // Oldest delta first, so that a newer link's block replaces an older one's.
    for (let k = full - 1; k >= 0; k--) {
      const index = links[k]!.index!;
      for (let i = 0; i < index.blocks.length; i++) {
        const b = index.blocks[i]!;
        if (b >= blocks) continue;
        this.#owner[b] = k;
        this.#where[b] = index.offsets[i]!;
      }
    }
    // No older link reaches past the parent's end (sizes never shrink): a block there is the delta's own or zeros.
    if (full > 0) for (let b = Math.ceil(chain[1]!.manifest.imageSize / blockSize); b < blocks; b++) if (this.#owner[b] !== 0) this.pastParentEnd++;
  }

  /**
   * Opens every file of `chain` (from resolveChain) and checks each link:
   * the full image's size, each delta's header, index and (with
   * `checkFiles`) file checksum. Returns the image, or a one-line reason
   * naming the broken link.
   */
  static async open(sfs: StoreFs, chain: readonly Generation[], checkFiles: boolean | 'salvage'): Promise<ChainImage | string> {
    if (chain.length > 0xffff) return 'its chain is longer than any this version writes';
    const links: Link[] = [], skipped: string[] = [];
    const fail = async (reason: string): Promise<string> => {
      for (const l of links) await sfs.close(l.fd).catch(() => {});
      return reason;
    };
    const blockSize = chain[0]!.manifest.delta?.blockSize ?? 4096;
    for (const g of chain) {
      const what = linkName(g, chain[0]!);
      let fd: number;
      try {
        fd = await sfs.open(g.imagePath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      } catch (err) {
        return fail(fileUnopenable(what, err));
      }
      links.push({ generation: g, fd, size: 0, index: null });
      const stat = await sfs.fstat(fd);
      if (!stat.isFile()) return fail(`${what} is not a regular file`);
      const m = g.manifest;
      if (m.delta === null) {
        if (stat.size !== m.imageSize) return fail(fileSizeMismatch(what, stat.size, m.imageSize));
        links[links.length - 1] = { generation: g, fd, size: stat.size, index: null };
        continue;
      }
      if (m.delta.blockSize !== blockSize) return fail(`${what} has ${m.delta.blockSize}-byte blocks, the chain ${blockSize}-byte ones`);
      let index: DeltaIndex | string;
      try {
        index = await readDeltaIndex(sfs, fd, stat.size, {
          blockSize, imageSize: m.imageSize, held: m.delta.held, stored: m.delta.stored, checksum: checkFiles === true ? m.delta.fileChecksum : undefined,
          skipped: checkFiles === 'salvage' ? (note) => skipped.push(`${what} is damaged: ${note}`) : undefined });
      } catch (err) {
        return fail(`${what} cannot be read (${errorCode(err) ?? String(err)})`);
      }
      if (typeof index === 'string') return fail(`${what} is damaged: ${index}`);
      links[links.length - 1] = { generation: g, fd, size: stat.size, index };
    }
    return new ChainImage(sfs, chain, links, blockSize, skipped);
  }

  /**
   * Reads image bytes [position, position + length) into `buf[offset..]`;
   * resolves to `length` (the range must lie inside the image).
   */
  async read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const bs = this.blockSize;
    let p = position;
    const end = position + length;
    while (p < end) {
      const b = Math.floor(p / bs);
      const owner = this.#owner[b]!;
      const where = this.#where[b]!;
      const within = p - b * bs;
      // Extend over following blocks stored contiguously in the same file.
      let q = Math.min((b + 1) * bs, end);
      for (let n = b + 1; q < end && this.#owner[n] === owner && where >= 0 && this.#where[n] === where + (n - b) * bs; n++) q = Math.min((n + 1) * bs, end);
      const into = offset + (p - position);
      if (where < 0) buf.fill(0, into, into + (q - p));
      else await readSmallWith(this.#sfs, this.#links[owner]!.fd, buf, into, q - p, where + within);
      p = q;
    }
    return length;
  }

  /**
   * Passes every block a delta of the chain supplies to `put` (its bytes
   * and its image offset; the bytes are valid only during the call), to be
   * laid over a copy of the full image: each delta's stored blocks are read
   * in file order, 1 MiB at a time, and only the blocks it owns (no newer
   * delta holds them) are passed; zero blocks are passed to `zero` (the
   * caller knows whether its destination holds data there). Reads at most
   * the deltas' files once.
   */
  async applyDeltas(put: (bytes: Uint8Array, position: number) => void, zero: (start: number, end: number) => void): Promise<void> {
    const bs = this.blockSize;
    const buf = new Uint8Array(Math.max(bs, Math.floor((1 << 20) / bs) * bs));
    for (let k = this.#links.length - 2; k >= 0; k--) {
      const { index, fd } = this.#links[k]!;
      let bufStart = -1, bufEnd = -1;
      for (let i = 0; i < index!.blocks.length; i++) {
        const b = index!.blocks[i]!;
        if (this.#owner[b] !== k || b * bs >= this.size) continue;
        const length = Math.min(bs, this.size - b * bs);
        const at = index!.offsets[i]!;
        if (at < 0) {
          zero(b * bs, b * bs + length);
          continue;
        }
        if (at < bufStart || at + bs > bufEnd) {
          const fileEnd = index!.header.indexOffset;
          const n = Math.min(buf.length, fileEnd - at);
          await readFullyWith(this.#sfs, fd, buf, 0, n, at);
          bufStart = at;
          bufEnd = at + n;
        }
        put(buf.subarray(at - bufStart, at - bufStart + length), b * bs);
      }
    }
  }

  /** Of the blocks the generation's own delta holds, those below block `end` (`held`), `stored` of them in its file, the others as zeros; 0, 0 for a full one. */
  ownBlocksBelow(end: number): { held: number; stored: number } {
    const index = this.#links[0]!.index;
    let held = 0, stored = 0;
    for (; index !== null && held < index.blocks.length && index.blocks[held]! < end; held++) if (index.offsets[held]! >= 0) stored++;
    return { held, stored };
  }

  /** The full generation's image file, open. */
  get baseFd(): number {
    return this.#links[this.#links.length - 1]!.fd;
  }

  /** Bytes of the full generation's image. */
  get baseSize(): number {
    return this.#links[this.#links.length - 1]!.size;
  }

  async close(): Promise<void> {
    for (const l of this.#links) await this.#sfs.close(l.fd).catch(() => {});
  }
}

// Said by every reader (restore, cat, export): which generation does verify is the caller's to find.
const BROKEN_HINT = 'verify the other generations to find one that is intact';

/** resolveChain(), a broken link thrown as StoreError CORRUPT. */
export async function chainOrThrow(sfs: StoreFs, dir: string, generation: Generation): Promise<Generation[]> {
  const chain = await resolveChain(sfs, dir, generation);
  if (typeof chain === 'string') {
    throw new StoreError('CORRUPT', `generation ${generation.sequence} cannot be read: ${chain}`, { path: generation.manifestPath, hint: BROKEN_HINT });
  }
  return chain;
}

/**
 * The image of `generation` through its chain, every link checked (file
 * checksums too with `checkFiles`); a broken one thrown as StoreError
 * CORRUPT. `chain`, when given and starting with `generation`, is the
 * chain resolveChain() would give (the store keeps its delta parent's):
 * its manifests are not read again; any other is ignored.
 */
export async function openChainOrThrow(sfs: StoreFs, dir: string, generation: Generation, checkFiles: boolean | 'salvage' = true, chain: readonly Generation[] | null = null): Promise<ChainImage> {
  // A chain given must be this generation's: one of another would read another image.
  const links = chain !== null && chain[0] === generation ? chain : await chainOrThrow(sfs, dir, generation);
  const image = await ChainImage.open(sfs, links, checkFiles);
  if (typeof image === 'string') {
    throw new StoreError('CORRUPT', `generation ${generation.sequence} cannot be read: ${image}`, { path: generation.imagePath, hint: BROKEN_HINT });
  }
  return image;
}
