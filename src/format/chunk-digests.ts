// The checksum of a snapshot image.
//
// Why this function: a capture copies the live file at disk speed (about
// 2 GB/s here), and a delta capture hashes the whole live file to find what
// changed, so the hash must run well above that on one core. Measured on
// this machine (Node 20, 1 MiB inputs): sha256 1.3 GB/s, sha1 1.4 GB/s,
// XXH3-64 12-13 GB/s through @node-rs/xxhash's streaming hasher and 24-29
// GB/s through xxhash-addon's one-shot `XXHash3.hash` (the xxHash C library
// with its own dispatch to the CPU's vector instructions; it reads the
// input in place). Read from a mapping of a memory file larger than the
// caches, the second still hashes about 1.6 times as fast as the first
// (docs/BENCHMARKS.md, Capture). So: XXH3-64, seed 0, through xxhash-addon,
// whose C function is called through koffi (sys/xxh3.ts: the addon's own
// call costs about 1 us more per call, which 4 KiB blocks feel).
// 64 bits per 1 MiB chunk leave a random corruption undetected with odds of
// 2^-64, which is what a checksum against bit rot and torn files needs.
//
// Why chunks: an image may be a 1 GiB file holding 10 MiB of data, the rest
// holes. Hashing 1 GiB of zeros would cost ten times the copy itself. So the
// image is hashed as a list of chunks (64 KiB now, 1 MiB and 4 KiB in older
// generations; the algorithm's name says which): each chunk's digest is XXH3-64
// of its bytes (an all-zero chunk's digest is a constant, computed once), and
// the checksum is XXH3-64 of the chunk digests (8 bytes each, little-endian,
// in file order) followed by the image size (8 bytes, little-endian). It
// depends only on the image's bytes, never on where its holes are, so it can
// be recomputed from the image file alone: by verify, or on a copy exported
// elsewhere that lost its holes. Chunks also let a delta capture compare
// each chunk with its parent's, and inherit the unchanged ones: by 128 bits,
// this digest and the high half of XXH3-128 (wide-digest.ts).
import { xxh3 } from '../sys/index.js';
import { runsDigest, runsWideDigest } from './runs-digest.js';
import { wideDigestOf, zeroWide } from './wide-digest.js';

/** The `checksum.algorithm` of format-1 manifests (1 MiB chunks); still read and verified. */
export const CHECKSUM_ALGORITHM = 'xxh3-64/chunks-1MiB';
/** Bytes per hashed chunk of CHECKSUM_ALGORITHM; copies work in the same grid. */
export const CHUNK_SIZE = 1 << 20;
/**
 * Bytes per block of a delta generation (docs/FORMAT.md, section 9): the
 * unit a delta holds. Why 4 KiB: a delta writes every block in which
 * anything changed, so a child that changes 10 MiB in scattered 4 KiB
 * pages writes 10 MiB with 4 KiB blocks, 20 MiB with 8 KiB and 160 MiB
 * with 64 KiB.
 */
export const BLOCK_SIZE = 4096;
/** The `checksum.algorithm` of format-2 manifests written before 64 KiB chunks: the same fold over 4 KiB chunks; still read and verified. */
export const BLOCK_CHECKSUM_ALGORITHM = 'xxh3-64/chunks-4KiB';
/**
 * Bytes per chunk of the image checksum of every generation written now,
 * and the unit a capture compares with the parent's digests before it
 * looks at single blocks. Why 64 KiB, measured (docs/BENCHMARKS.md): the
 * hash runs at about 5 GB/s in 4 KiB calls and 24-29 GB/s in 64 KiB calls
 * (its per-call cost dominates below that), and a capture
 * that finds a 64 KiB chunk unchanged has decided sixteen blocks with one
 * call. A changed chunk's 4 KiB blocks are compared with the parent's
 * (their digests where known, block-digests.ts, else their bytes), so
 * deltas still hold 4 KiB blocks.
 */
export const IMAGE_CHUNK_SIZE = 64 * 1024;
/** The `checksum.algorithm` of generations written now: the fold over 64 KiB chunks. */
export const IMAGE_CHECKSUM_ALGORITHM = 'xxh3-64/chunks-64KiB';

/** The chunk size a checksum algorithm hashes in, or null for an algorithm this version does not know. */
export function chunkSizeOf(algorithm: string): number | null {
  if (algorithm === CHECKSUM_ALGORITHM) return CHUNK_SIZE;
  if (algorithm === BLOCK_CHECKSUM_ALGORITHM) return BLOCK_SIZE;
  if (algorithm === IMAGE_CHECKSUM_ALGORITHM) return IMAGE_CHUNK_SIZE;
  return null;
}

/** XXH3-64 (seed 0) of `bytes`: a block's or a chunk's digest (through the library's C function where it binds: sys/xxh3.ts). */
export function digestOf(bytes: Uint8Array): bigint {
  return xxh3(bytes);
}

const zeroDigests = new Map<number, bigint>();

/** The digest of `length` zero bytes (every hole-only chunk of that length). */
export function zeroDigest(length: number): bigint {
  let d = zeroDigests.get(length);
  if (d === undefined) {
    d = digestOf(new Uint8Array(length));
    zeroDigests.set(length, d);
  }
  return d;
}

/**
 * Where a capture's head ends in an image of `size` bytes whose rings end
 * at `tailBase`: the first IMAGE_CHUNK_SIZE boundary at or after it, or the
 * image's end. A host's delta holds every block below it (docs/FORMAT.md,
 * "Delta file"); show tells those apart from the tail's changed blocks.
 */
export function headEnd(tailBase: number, size: number): number {
  return Math.min(size, Math.ceil(tailBase / IMAGE_CHUNK_SIZE) * IMAGE_CHUNK_SIZE);
}

/** Byte range [start, end) of chunk `index` in an image of `size` bytes. */
export function chunkRange(index: number, size: number, chunkSize = CHUNK_SIZE): { start: number; end: number } {
  const start = index * chunkSize;
  return { start, end: Math.min(start + chunkSize, size) };
}

/** #set: the chunk's digest and the high half of its 128-bit digest are recorded. */
const WIDE = 2;

/**
 * The digests of an image's chunks, filled in any order, then folded into
 * the checksum. Use one per image being written, restored or verified.
 */
export class ChunkDigests {
  readonly size: number;
  /** Bytes per chunk: the checksum algorithm's (chunkSizeOf). */
  readonly chunkSize: number;
  readonly #digests: BigUint64Array;
  /** The high halves of the chunks' 128-bit digests (wide-digest.ts), where #set is WIDE. */
  readonly #high: BigUint64Array;
  readonly #set: Uint8Array;
  /** Whether chunks are hashed to 128 bits too (the constructor's `wide`). */
  readonly wide: boolean;
  #remaining: number;

  /**
   * `wide`: every chunk hashed here (set, setRuns, setRange) gets the high
   * half of its 128-bit digest too (high()), for a delta to compare with; a
   * capture's and a restore's are. A narrow one drops the high halves
   * setDigest() is given.
   */
  constructor(size: number, chunkSize = CHUNK_SIZE, wide = false) {
    this.size = size;
    this.chunkSize = chunkSize;
    const n = Math.ceil(size / chunkSize);
    this.#digests = new BigUint64Array(n);
    this.#high = new BigUint64Array(wide ? n : 0);
    this.#set = new Uint8Array(n);
    this.wide = wide;
    this.#remaining = n;
  }

  /** Records chunk `index`'s final bytes; null means the chunk is all zeros. */
  set(index: number, bytes: Uint8Array | null): void {
    const { start, end } = chunkRange(index, this.size, this.chunkSize);
    if (bytes !== null && bytes.length !== end - start) {
      throw new RangeError(`chunk ${index} has ${end - start} bytes, got ${bytes.length}`);
    }
    this.#whole(index, bytes, end - start);
  }

  /** Records chunk `index` of `length` bytes, `bytes` (null: zeros), to 128 bits when wide. */
  #whole(index: number, bytes: Uint8Array | null, length: number): void {
    if (!this.wide) this.#record(index, bytes === null ? zeroDigest(length) : digestOf(bytes));
    else this.#record(index, ...(bytes === null ? zeroWide(length) : wideDigestOf(bytes)));
  }

  /**
   * Records chunk `index` from `view`, where file offset p is at
   * view[p - base] (a mapping of the whole file, or a buffer holding the
   * chunk), reading only the given data `runs` (file offsets, in order):
   * the chunk's other bytes are zeros and are hashed as such without being
   * touched, so holes of a mapped file stay holes.
   */
  setRuns(index: number, view: Uint8Array, runs: ReadonlyArray<readonly [number, number]>, base = 0): void {
    const { start, end } = chunkRange(index, this.size, this.chunkSize);
    if (this.wide) this.#record(index, ...runsWideDigest(view, start, end, runs, base));
    else this.#record(index, runsDigest(view, start, end, runs, base));
  }

  /**
   * Records every chunk that starts in [start, end) (file offsets; `start`
   * on a chunk boundary) from `view` as in setRuns(); chunks without data
   * get the zero digest without being read.
   */
  setRange(start: number, end: number, view: Uint8Array, runs: ReadonlyArray<readonly [number, number]>, base = 0): void {
    let r = 0;
    if (runs.length === 0) {
      // A hole: every chunk of a length gets the same digest, looked up once.
      for (let index = start / this.chunkSize; index * this.chunkSize < end; index++) {
        this.#whole(index, null, Math.min((index + 1) * this.chunkSize, this.size) - index * this.chunkSize);
      }
      return;
    }
    for (let index = start / this.chunkSize; index * this.chunkSize < end; index++) {
      const c0 = index * this.chunkSize;
      const c1 = Math.min(c0 + this.chunkSize, this.size);
      while (r < runs.length && runs[r]![1] <= c0) r++;
      if (r >= runs.length || runs[r]![0] >= c1) {
        this.#whole(index, null, c1 - c0);
      } else if (runs[r]![0] <= c0 && runs[r]![1] >= c1) {
        this.#whole(index, view.subarray(c0 - base, c1 - base), c1 - c0);
      } else {
        this.setRuns(index, view, runs.slice(r), base);
      }
    }
  }

  /** Number of chunks. */
  get count(): number {
    return this.#digests.length;
  }

  /** Chunk `index`'s digest (undefined until recorded). */
  get(index: number): bigint | undefined {
    return this.#set[index] !== 0 ? this.#digests[index] : undefined;
  }

  /** The high half of chunk `index`'s 128-bit digest where it was recorded (a wide ChunkDigests: every chunk hashed here, and setDigest() given one), else undefined. */
  high(index: number): bigint | undefined {
    return this.#set[index] === WIDE ? this.#high[index] : undefined;
  }

  /** Records a digest known without hashing (a chunk a delta inherits from its parent), with the high half of its 128-bit digest where known. */
  setDigest(index: number, digest: bigint, high?: bigint): void {
    this.#record(index, digest, high);
  }

  #record(index: number, digest: bigint, high?: bigint): void {
    this.#digests[index] = digest;
    if (this.#set[index] === 0) this.#remaining -= 1;
    this.#set[index] = high !== undefined && this.wide ? WIDE : 1;
    if (this.#set[index] === WIDE) this.#high[index] = high!;
  }

  /** Indexes of the chunks not yet recorded. */
  missing(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#set.length; i++) if (this.#set[i] === 0) out.push(i);
    return out;
  }

  /** The checksum value (16 hex digits); every chunk must be recorded. */
  value(): string {
    if (this.#remaining !== 0) throw new Error(`${this.#remaining} chunks of the image were not hashed`);
    const folded = new Uint8Array(this.#digests.length * 8 + 8);
    const view = new DataView(folded.buffer);
    this.#digests.forEach((d, i) => view.setBigUint64(i * 8, d, true));
    view.setBigUint64(this.#digests.length * 8, BigInt(this.size), true);
    return digestOf(folded).toString(16).padStart(16, '0');
  }
}
