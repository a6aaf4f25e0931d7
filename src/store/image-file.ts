// Reading a snapshot image for inspection. An image is untrusted bytes: the
// header is validated by src/format before anything it points at is read,
// and every read goes through read(), which refuses (as a bug) any range
// outside the image, so a hostile header can never make a command read
// past the file. Reads are positioned reads of an open descriptor, never a
// mapping: an image truncated while it is read gives an error, not SIGBUS.
import fs from 'node:fs';
import {
  ChunkDigests, DURABLE_OFFSET_AT, EXT_MAGIC, EXT_MAGIC_AT, FormatError, HEADER_SIZE, SNAPSHOT_SEQ_AT,
  checkRecordSet, salvageRecordSet, copyRecord, readHeader, validSlots, wordsOf, type Layout, type Slot,
} from '../format/index.js';
import { dataRuns } from '../sys/index.js';
import { digestImage } from './checksum-file.js';
import { StoreError } from './errors.js';
import { readFullyWith, realStoreFs, type StoreFs } from './fs.js';
import type { ChainImage } from './chain.js';

/** Bytes read per step when streaming a large part of an image. */
export const STREAM_CHUNK = 1 << 20;
/** What inspect() reads into memory (header, entry ring, maybe the data ring); beyond this it refuses. */
const MAX_RINGS_BYTES = 2 ** 32 - 1;

/** The host's extension words, and whether its magic is there at all. */
export interface ExtensionWords {
  readonly present: boolean;
  readonly durableOffset: bigint;
  readonly snapshotSeq: bigint;
}

/** What an image holds, validated. */
export type ImageInfo =
  | { readonly configured: false; readonly size: number }
  | {
    readonly configured: true;
    readonly size: number;
    readonly layout: Layout;
    readonly writeOffset: bigint;
    readonly extension: ExtensionWords;
    /** Valid records, oldest first, checked against the commit protocol. */
    readonly records: readonly Slot[];
    /** Inspected with `salvage`: the records left out of `records` and why, one line each (else empty). */
    readonly skipped: readonly string[];
    /** Header, entry ring and data ring (what records are copied from), if inspect() was asked for them. */
    readonly rings: Uint8Array | null;
  };

/** An image file (or an image inside a larger file, such as an export) opened for reading. */
export class ImageFile {
  readonly path: string;
  /** Bytes of the image. */
  readonly size: number;
  readonly #fd: number;
  /** Where the image starts in the file. */
  readonly #base: number;
  readonly #sfs: StoreFs;
  /** A delta's chain, read instead of a file. */
  #chain: ChainImage | null = null;
  #closed = false;

  private constructor(sfs: StoreFs, path: string, fd: number, base: number, size: number) {
    this.#sfs = sfs;
    this.path = path;
    this.#fd = fd;
    this.#base = base;
    this.size = size;
  }

  /**
   * Opens `path` for reading; `slice` selects the image inside a larger
   * file (it must lie within the file). Throws Node's error (ENOENT...) or
   * a StoreError (NOT_A_FILE, TRUNCATED) for something that is not a regular file.
   */
  static async open(path: string, slice?: { offset: number; length: number }, sfs: StoreFs = realStoreFs): Promise<ImageFile> {
    const fd = await sfs.open(path, fs.constants.O_RDONLY);
    try {
      const stat = await sfs.fstat(fd);
      if (!stat.isFile()) throw new StoreError('NOT_A_FILE', `${path} is not a regular file`, { path, hint: 'give the path of an image file' });
      if (slice && slice.offset + slice.length > stat.size) {
        throw new StoreError('TRUNCATED', `${path} is shorter than the image it should hold`, { path, hint: 'the file is truncated: copy it again' });
      }
      return new ImageFile(sfs, path, fd, slice?.offset ?? 0, slice?.length ?? stat.size);
    } catch (err) {
      await sfs.close(fd).catch(() => {});
      throw err;
    }
  }

  /**
   * The whole image a delta generation stands for, read through its chain
   * (from SnapshotStore.openChain()); close() closes the chain.
   */
  static fromChain(chain: ChainImage): ImageFile {
    const image = new ImageFile(realStoreFs, chain.chain[0]!.imagePath, -1, 0, chain.size);
    image.#chain = chain;
    return image;
  }

  /** For a delta's image opened for salvage (fromChain), ChainImage.skipped: damage read past that holds no data; [] otherwise. */
  get skipped(): readonly string[] {
    return this.#chain?.skipped ?? [];
  }

  /** For a delta's image (fromChain), ChainImage.pastParentEnd: its blocks past its parent's end that it does not hold (zeros); null for an image file. */
  get pastParentEnd(): number | null {
    return this.#chain?.pastParentEnd ?? null;
  }

  /** For a delta's image (fromChain), ChainImage.ownBlocksBelow(end): its own delta's held and stored blocks below block `end`; null for an image file. */
  ownBlocksBelow(end: number): { held: number; stored: number } | null {
    return this.#chain?.ownBlocksBelow(end) ?? null;
  }

  /** Reads image bytes [position, position + length); the range must lie inside the image. */
  async read(position: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position + length > this.size) {
      // Validation upstream makes this unreachable; reaching it is a bug, never a read past the image.
      throw new Error(`refusing to read bytes [${position}, ${position + length}) of a ${this.size}-byte image`);
    }
    const out = new Uint8Array(length);
    if (this.#chain !== null) {
      await this.#chain.read(out, 0, length, position);
      return out;
    }
    let done = 0;
    while (done < length) {
      const bytesRead = await this.#sfs.read(this.#fd, out, done, length - done, this.#base + position + done);
      if (bytesRead === 0) {
        throw new StoreError('TRUNCATED', `${this.path} ended after ${position + done} bytes while it was read`, { path: this.path, hint: 'the file was truncated or replaced meanwhile: try again' });
      }
      done += bytesRead;
    }
    return out;
  }

  /**
   * Validates the image and returns what it holds: the layout, the
   * extension words and every valid record (FormatError when anything is
   * inconsistent). `raw` says the image is a capture of a file no writer
   * configured, so a file shorter than a header page is fine. Only the
   * header and the entry ring are read, unless `rings` asks for the data
   * ring too (to copy records out of it). `salvage` (--ignore-checksum):
   * records that break the commit protocol are left out (info.skipped), not refused.
   */
  async inspect(options: { raw?: boolean; rings?: boolean; salvage?: boolean } = {}): Promise<ImageInfo> {
    if (this.size < HEADER_SIZE && options.raw === true) return { configured: false, size: this.size };
    if (this.size < HEADER_SIZE) readHeader(await this.read(0, this.size)); // throws TOO_SMALL
    const header = await this.read(0, HEADER_SIZE);
    // Masks and ring sizes checked against the image's real size before
    // anything they point at is read.
    const first = readHeader(header, this.size);
    if (!first.configured) return { configured: false, size: this.size };
    const length = options.rings === true ? first.layout.tailBase : first.layout.dataBase;
    if (length > MAX_RINGS_BYTES) {
      throw new FormatError('RINGS_DO_NOT_FIT', `the image's entry and data rings take ${length} bytes, more than this command can inspect (4 GiB)`);
    }
    const prefix = length === HEADER_SIZE ? header : await this.read(0, length);
    const state = readHeader(prefix, this.size);
    if (!state.configured) throw new FormatError('BAD_MAGIC', 'the image header changed while it was read');
    const { layout } = state;
    const skipped: string[] = [];
    const slots = validSlots(prefix, layout);
    const records = options.salvage === true ? salvageRecordSet(layout, slots, (p) => skipped.push(p)) : checkRecordSet(layout, slots);
    const words = wordsOf(prefix);
    const extension: ExtensionWords = words.load(EXT_MAGIC_AT) === EXT_MAGIC
      ? { present: true, durableOffset: words.load(DURABLE_OFFSET_AT), snapshotSeq: words.load(SNAPSHOT_SEQ_AT) }
      : { present: false, durableOffset: 0n, snapshotSeq: 0n };
    return { configured: true, size: this.size, layout, writeOffset: state.writeOffset, extension, records, skipped, rings: options.rings === true ? prefix : null };
  }

  /**
   * The bytes of image range [start, end), a chunk at a time (for the tail,
   * or a whole export). A chunk that lies in a hole of the file is not
   * read: it is a view of shared zeros, which nobody writes (a 5 GiB image
   * holding a few MiB is mostly holes).
   */
  async *chunks(start: number, end: number, chunkSize = STREAM_CHUNK): AsyncGenerator<Uint8Array> {
    const zeros = new Uint8Array(chunkSize);
    for (let at = start; at < end; at += chunkSize) {
      const length = Math.min(chunkSize, end - at);
      const from = this.#base + at;
      // A chain has no one file to ask for holes: its bytes are read through it.
      if (this.#chain === null && dataRuns(this.#fd, from, from + length).length === 0 && await this.#holdsRange(at + length)) {
        yield zeros.subarray(0, length);
        continue;
      }
      // A new buffer each step: a stream may still hold the previous chunk after write() returned.
      yield await this.read(at, length);
    }
  }

  /**
   * The checksum of the whole image in chunks of `chunkSize` bytes, as a
   * manifest's checksum.value gives it (docs/FORMAT.md), from the bytes this
   * descriptor (or chain) reads: what read() and chunks() return is what was
   * checked. A file's holes are hashed as zeros without being read.
   */
  async checksum(chunkSize: number): Promise<string> {
    const digests = new ChunkDigests(this.size, chunkSize);
    if (this.#chain !== null) {
      const chain = this.#chain;
      await digestImage((buf, offset, length, position) => chain.read(buf, offset, length, position), digests);
    } else {
      const base = this.#base;
      const runs = dataRuns(this.#fd, base, base + this.size).map(([a, b]): [number, number] => [a - base, b - base]);
      await digestImage((buf, offset, length, position) => readFullyWith(this.#sfs, this.#fd, buf, offset, length, base + position), digests, runs);
    }
    return digests.value();
  }

  /** True while the file still holds image bytes up to `end` (a hole is only zeros if the file did not shrink). */
  async #holdsRange(end: number): Promise<boolean> {
    if ((await this.#sfs.fstat(this.#fd)).size >= this.#base + end) return true;
    throw new StoreError('TRUNCATED', `${this.path} ended before ${end} bytes while it was read`, { path: this.path, hint: 'the file was truncated or replaced meanwhile: try again' });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#chain !== null) await this.#chain.close();
    else await this.#sfs.close(this.#fd).catch(() => {});
  }
}

/** A record's bytes, copied out of the rings (across the ring's wrap). */
export function recordBytes(info: Extract<ImageInfo, { configured: true }>, record: Slot): Uint8Array {
  if (info.rings === null) throw new Error('recordBytes() needs an image inspected with { rings: true }');
  return copyRecord(info.rings, info.layout, record);
}
