// The `.delta` file of a delta generation (docs/FORMAT.md, section 9): the
// blocks of the image that differ from the parent's, packed, then their
// index. Packed rather than sparse at the blocks' own offsets, so that the
// file's size is what it holds, wherever it is copied (object storage has
// no holes).
//
//   [0, 4096)            header page: magic, version, block size, image
//                        size, held, stored, index offset (u64/u32, LE)
//   [4096, indexOffset)  the stored blocks, blockSize bytes each, in index
//                        order (the image's last block zero-padded)
//   [indexOffset, end)   held entries, u64 LE each: block index * 2, plus 1
//                        for a block that is all zeros (stored nowhere)
import { ChunkDigests, digestOf } from '../format/index.js';
import { readFullyWith, writeFullyWith, type StoreFs } from './fs.js';
import { WritebackPump } from './writeback-pump.js';
import { deltaReservedNotZero, deltaSizeMismatch } from './unusable.js';

import { DELTA_MAGIC } from './file-kind.js';

export { DELTA_MAGIC };
export const DELTA_VERSION = 1;
/** Bytes of the header page; the blocks start after it, page-aligned. */
export const DELTA_HEADER_SIZE = 4096;
/** Where the header's reserved bytes start: [48, 4096) are zeros. */
const DELTA_RESERVED = 48;
/** Bytes written at once (also the chunk of the file checksum). */
const BATCH = 1 << 20;

/** What a delta file's header says. */
export interface DeltaHeader {
  readonly blockSize: number;
  readonly imageSize: number;
  readonly held: number;
  readonly stored: number;
  readonly indexOffset: number;
}

/** The size of a delta file with `held` entries, `stored` of them with bytes. */
export const deltaFileSize = (blockSize: number, held: number, stored: number): number => DELTA_HEADER_SIZE + stored * blockSize + held * 8;

/**
 * Writes a delta file to `fd` (through `sfs`) as blocks are put, in
 * increasing block order. finish() writes the index and the header and
 * returns the facts for the manifest; the caller fsyncs.
 */
export class DeltaWriter {
  readonly blockSize: number;
  readonly #sfs: StoreFs;
  readonly #fd: number;
  readonly #entries: number[] = [];
  #buffer = new Uint8Array(BATCH);
  /** The batch being written while the next one fills (its write's failure, if any, is thrown at the next flush). */
  #spare = new Uint8Array(BATCH);
  #writing: Promise<void> = Promise.resolve();
  /** Each batch handed to the disk once written: the commit's fsync then finds most of the file on its way there. */
  readonly #writeback: WritebackPump;
  #filled = 0;
  #position = DELTA_HEADER_SIZE;
  #stored = 0;
  #last = -1;
  readonly #chunkDigests: bigint[] = [];

  /** `blockSize` must divide BATCH (1 MiB): a block then never straddles two batches. */
  constructor(sfs: StoreFs, fd: number, blockSize: number) {
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0 || BATCH % blockSize !== 0) throw new RangeError(`a delta's block size must divide ${BATCH}, got ${blockSize}`);
    this.#sfs = sfs;
    this.#fd = fd;
    this.blockSize = blockSize;
    this.#writeback = new WritebackPump(sfs, fd, DELTA_HEADER_SIZE);
  }

  /** Blocks held so far. */
  get held(): number {
    return this.#entries.length;
  }

  /** Holds block `index` with `bytes` (at most blockSize; shorter is zero-padded), or as all zeros when null. */
  async put(index: number, bytes: Uint8Array | null): Promise<void> {
    if (!Number.isSafeInteger(index) || index <= this.#last) throw new RangeError(`delta blocks must be put in increasing order: ${index} after ${this.#last}`);
    this.#last = index;
    if (bytes === null) {
      this.#entries.push(index * 2 + 1);
      return;
    }
    this.#entries.push(index * 2);
    this.#stored += 1;
    // Straight into the batch, zero-padded: blocks fill it exactly.
    const n = Math.min(bytes.length, this.blockSize);
    this.#buffer.set(bytes.subarray(0, n), this.#filled);
    if (n < this.blockSize) this.#buffer.fill(0, this.#filled + n, this.#filled + this.blockSize);
    this.#filled += this.blockSize;
    if (this.#filled === BATCH) await this.#flush();
  }

  async #append(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const n = Math.min(bytes.length - at, BATCH - this.#filled);
      this.#buffer.set(bytes.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === BATCH) await this.#flush();
    }
  }

  /**
   * Starts writing the filled batch and swaps in the other buffer, after
   * the previous batch's write has ended: one write is in flight while the
   * next batch fills. `wait` also waits for this one (finish()).
   */
  async #flush(wait = false): Promise<void> {
    await this.#writing;
    if (this.#filled > 0) {
      const data = this.#buffer.subarray(0, this.#filled);
      this.#chunkDigests.push(digestOf(data));
      const at = this.#position;
      this.#writing = writeFullyWith(this.#sfs, this.#fd, data, 0, data.length, at).then(() => this.#writeback.written(at + data.length));
      // Keeps no rejection unhandled while the next batch fills; the await above rethrows it.
      this.#writing.catch(() => {});
      this.#position += data.length;
      this.#filled = 0;
      [this.#buffer, this.#spare] = [this.#spare, this.#buffer];
    }
    if (wait) await this.#writing;
  }

  /** Resolves once no write or writeback request is in flight (whether it failed or not): before the file is closed. */
  async settled(): Promise<void> {
    await this.#writing.catch(() => {});
    await this.#writeback.idle();
  }

  /** Writes the index and header; returns the header and the file checksum (16 hex digits). */
  async finish(imageSize: number): Promise<{ header: DeltaHeader; fileBytes: number; fileChecksum: string }> {
    // The index follows the blocks in the same batches: the file checksum's chunks are the file's 1 MiB pieces.
    const indexOffset = this.#position + this.#filled;
    const index = new Uint8Array(this.#entries.length * 8);
    const view = new DataView(index.buffer);
    this.#entries.forEach((e, i) => view.setBigUint64(i * 8, BigInt(e), true));
    await this.#append(index);
    await this.#flush(true);
    const header: DeltaHeader = { blockSize: this.blockSize, imageSize, held: this.#entries.length, stored: this.#stored, indexOffset };
    await writeFullyWith(this.#sfs, this.#fd, encodeDeltaHeader(header), 0, DELTA_HEADER_SIZE, 0);
    // None still in flight when the caller fsyncs and closes the file.
    await this.#writeback.idle();
    const payload = this.#position - DELTA_HEADER_SIZE;
    return { header, fileBytes: this.#position, fileChecksum: foldChunkDigests(this.#chunkDigests, payload) };
  }
}

/** The file checksum: the image checksum's fold over the payload's 1 MiB chunks. */
function foldChunkDigests(digests: readonly bigint[], payloadBytes: number): string {
  const fold = new ChunkDigests(payloadBytes, BATCH);
  digests.forEach((d, i) => fold.setDigest(i, d));
  return fold.value();
}

function encodeDeltaHeader(h: DeltaHeader): Uint8Array {
  const page = new Uint8Array(DELTA_HEADER_SIZE);
  page.set(Buffer.from(DELTA_MAGIC, 'latin1'), 0);
  const view = new DataView(page.buffer);
  view.setUint32(8, DELTA_VERSION, true);
  view.setUint32(12, h.blockSize, true);
  view.setBigUint64(16, BigInt(h.imageSize), true);
  view.setBigUint64(24, BigInt(h.held), true);
  view.setBigUint64(32, BigInt(h.stored), true);
  view.setBigUint64(40, BigInt(h.indexOffset), true);
  return page;
}

/** A delta file read and checked: which blocks it holds, and where each one's bytes are (-1: zeros). */
export interface DeltaIndex {
  readonly header: DeltaHeader;
  /** Held block indexes, increasing. */
  readonly blocks: Float64Array;
  /** For each held block, the file offset of its bytes, or -1 for a zero block. */
  readonly offsets: Float64Array;
}

/**
 * Reads the header and index of the delta file `fd` (of `fileBytes` bytes)
 * and checks them against what its manifest says; also checks the file
 * checksum when `checksum` is given. Returns the index, or a one-line
 * reason it cannot be used; with `skipped`, non-zero reserved header bytes
 * are passed to it instead (salvage).
 */
export async function readDeltaIndex(
  sfs: StoreFs, fd: number, fileBytes: number, expect: { blockSize: number; imageSize: number; held: number; stored: number; checksum?: string; skipped?: (note: string) => void },
): Promise<DeltaIndex | string> {
  if (fileBytes !== deltaFileSize(expect.blockSize, expect.held, expect.stored)) {
    return deltaSizeMismatch(fileBytes, deltaFileSize(expect.blockSize, expect.held, expect.stored));
  }
  const page = new Uint8Array(DELTA_HEADER_SIZE);
  await readFullyWith(sfs, fd, page, 0, DELTA_HEADER_SIZE, 0);
  const view = new DataView(page.buffer);
  if (Buffer.from(page.subarray(0, 8)).toString('latin1') !== DELTA_MAGIC) return 'it does not start with the delta magic';
  if (view.getUint32(8, true) !== DELTA_VERSION) return `it has delta version ${view.getUint32(8, true)}, this version reads ${DELTA_VERSION}`;
  const header: DeltaHeader = {
    blockSize: view.getUint32(12, true),
    imageSize: Number(view.getBigUint64(16, true)),
    held: Number(view.getBigUint64(24, true)),
    stored: Number(view.getBigUint64(32, true)),
    indexOffset: Number(view.getBigUint64(40, true)),
  };
  if (header.blockSize !== expect.blockSize || header.imageSize !== expect.imageSize || header.held !== expect.held || header.stored !== expect.stored
    || header.indexOffset !== DELTA_HEADER_SIZE + expect.stored * expect.blockSize) {
    return 'its header disagrees with its manifest';
  }
  // Outside the file checksum: zeros are their only check (a later layout that uses them is a new version). Salvage (`skipped` given) notes a non-zero byte and reads on: it holds no data.
  const nonZero = page.findIndex((b, i) => i >= DELTA_RESERVED && b !== 0);
  if (nonZero !== -1 && expect.skipped === undefined) return deltaReservedNotZero(nonZero, page[nonZero]!);
  if (nonZero !== -1) expect.skipped!(deltaReservedNotZero(nonZero, page[nonZero]!));
  if (expect.checksum !== undefined) {
    const actual = await payloadChecksum(sfs, fd, fileBytes);
    if (actual !== expect.checksum) return `checksum mismatch (manifest ${expect.checksum}, file ${actual}): it changed after it was written`;
  }
  const raw = new Uint8Array(header.held * 8);
  await readFullyWith(sfs, fd, raw, 0, raw.length, header.indexOffset);
  const entries = new DataView(raw.buffer);
  const blocks = new Float64Array(header.held);
  const offsets = new Float64Array(header.held);
  const blockCount = Math.ceil(header.imageSize / header.blockSize);
  let stored = 0;
  for (let i = 0; i < header.held; i++) {
    const e = entries.getBigUint64(i * 8, true);
    const block = Number(e >> 1n);
    if (block >= blockCount || (i > 0 && block <= blocks[i - 1]!)) return 'its block index is out of order or out of range';
    blocks[i] = block;
    offsets[i] = (e & 1n) === 1n ? -1 : DELTA_HEADER_SIZE + stored++ * header.blockSize;
  }
  if (stored !== header.stored) return 'its block index disagrees with its header';
  return { header, blocks, offsets };
}

/** The file checksum of a delta file, recomputed from the file. */
async function payloadChecksum(sfs: StoreFs, fd: number, fileBytes: number): Promise<string> {
  const payload = fileBytes - DELTA_HEADER_SIZE;
  const fold = new ChunkDigests(payload, BATCH);
  const buf = new Uint8Array(BATCH);
  for (let i = 0, at = 0; at < payload; i++, at += BATCH) {
    const n = Math.min(BATCH, payload - at);
    await readFullyWith(sfs, fd, buf, 0, n, DELTA_HEADER_SIZE + at);
    fold.set(i, buf.subarray(0, n));
  }
  return fold.value();
}
