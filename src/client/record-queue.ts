// The writer's side of the commit protocol (docs/FORMAT.md, "Committing a
// record") over a mapped file: the valid records kept as a queue of slots,
// invalidated oldest first, each commit a handful of atomic stores. The
// file handle around it (closing, the tail, reading records back) is
// SharedState's.
import { U64_MAX, WRITE_OFFSET_AT, type Layout } from '../format/index.js';
import { resumePoint } from './resume.js';

const TWO_32 = 0x1_0000_0000;

/**
 * One writer's queue of records in one shared file. `commit()` makes no
 * system call, never waits and, in the common case, allocates nothing but
 * the bigint it returns (and the length as a bigint when it differs from
 * the previous record's).
 */
export class RecordQueue {
  readonly layout: Layout;
  #bytes: Uint8Array;
  #u64: BigUint64Array;
  #u32: Uint32Array;
  #ring: number;
  #slots: number;
  #slotMask: number;
  #dataBase: number;
  // Word indexes: 8-byte words into #u64, 4-byte words into #u32.
  #entryWord: number;
  #entryU32: number;
  #writeOffsetWord: number;
  // Writer state. The valid records are the run of `#count` slots ending at
  // `#latest`, in stream order, so invalidation is amortised O(1).
  // The write offset is kept twice: exact as a bigint (`#wBig`, what commit
  // returns: one bigint addition per commit is cheaper than converting a
  // double), and as a double (`#w`) for arithmetic while it is below 2^53
  // (Infinity past that, where the bigint path takes over).
  #w: number;
  #wBig: bigint;
  #lengthN = -1;
  #lengthBig = 0n;
  #ringPos: number;
  #latest: number;
  #oldest: number;
  #count: number;
  // Each slot's offset as a double (exact below 2^53), and the value of its
  // offset word's high half times 2^32: a new offset with the same high
  // half is stored as one atomic 4-byte store of the low half.
  #offsets: Float64Array;
  #offsetBase: Float64Array;
  #writeOffsetBase: number;


  /** Takes over the configured file `bytes` (a live mapping) whose header says `writeOffset`; resumes after its latest record. */
  constructor(bytes: Uint8Array, layout: Layout, writeOffset: bigint) {
    this.layout = layout;
    this.#bytes = bytes;
    this.#u64 = new BigUint64Array(this.#bytes.buffer, this.#bytes.byteOffset, layout.tailBase / 8);
    this.#u32 = new Uint32Array(this.#bytes.buffer, this.#bytes.byteOffset, layout.tailBase / 4);
    this.#ring = layout.ringSize;
    this.#slots = layout.slots;
    this.#slotMask = layout.slots - 1;
    this.#dataBase = layout.dataBase;
    this.#entryWord = layout.entryBase / 8;
    this.#entryU32 = layout.entryBase / 4;
    this.#writeOffsetWord = WRITE_OFFSET_AT / 8;
    this.#offsets = new Float64Array(layout.slots);
    this.#offsetBase = new Float64Array(layout.slots);
    for (let i = 0; i < layout.slots; i++) {
      const offset = Atomics.load(this.#u64, this.#entryWord + i * 2);
      this.#offsets[i] = Number(offset);
      this.#offsetBase[i] = Number(offset >> 32n) * TWO_32;
    }
    this.#writeOffsetBase = Number(Atomics.load(this.#u64, this.#writeOffsetWord) >> 32n) * TWO_32;

    const resumed = resumePoint(this.#bytes, layout, writeOffset);
    this.#latest = resumed.latest;
    this.#oldest = resumed.oldest;
    this.#count = resumed.count;
    this.#wBig = resumed.writeOffset;
    this.#w = resumed.writeOffset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(resumed.writeOffset);
    this.#ringPos = Number(resumed.writeOffset & layout.dataMask);
  }

  /** Stream offset where the next record will start. */
  get writeOffset(): bigint {
    return this.#wBig;
  }

  /** The valid records' slots as a run: `count` slots from `oldest`, the last one `latest`. */
  get run(): { readonly oldest: number; readonly latest: number; readonly count: number } {
    return { oldest: this.#oldest, latest: this.#latest, count: this.#count };
  }

  /**
   * Commits `data` as one record and returns its stream offset. After it
   * returns the record survives a crash of this process.
   */
  commit(data: Uint8Array): bigint {
    const bytes = this.#bytes;
    const length = data.length;
    const ring = this.#ring;
    if (length === 0 || length >= ring) {
      throw new RangeError(`a record must hold 1 to ${ring - 1} bytes (the data ring size minus one), got ${length}`);
    }
    const w = this.#w;
    const end = w + length;
    // Past 2^53 (or for a record whose length needs more than 4 bytes) the
    // exact 64-bit path.
    if (end > Number.MAX_SAFE_INTEGER || length > 0xffff_ffff) return this.#commitBig(bytes, data);
    const u32 = this.#u32;
    const offsets = this.#offsets;
    const mask = this.#slotMask;
    // Each slot is 4 u32 words: offset low, offset high, length low, length high.
    // A valid length is below the ring size, so its high word is always 0
    // and a 4-byte store of the low word is the whole 8-byte transition.
    const lengthWords = this.#entryU32 + 2;

    // 2. Invalidate, oldest first, every record whose bytes are about to be
    // overwritten; 3. and the slot to reuse when every slot is in use (the
    // oldest, as the valid slots are the run ending at the latest).
    const limit = end - ring;
    let count = this.#count;
    let oldest = this.#oldest;
    while (count > 0 && (offsets[oldest]! < limit || count === this.#slots)) {
      Atomics.store(u32, lengthWords + oldest * 4, 0);
      oldest = (oldest + 1) & mask;
      count -= 1;
    }
    this.#oldest = oldest;
    this.#count = count;
    const slot = (this.#latest + 1) & mask;

    // 4. The bytes, across the ring's end if need be.
    const pos = this.#ringPos;
    const first = ring - pos;
    if (length <= first) {
      bytes.set(data, this.#dataBase + pos);
    } else {
      bytes.set(data.subarray(0, first), this.#dataBase + pos);
      bytes.set(data.subarray(first), this.#dataBase);
    }

    // 5. Offset, then length: committed here.
    const at = this.#entryU32 + slot * 4;
    const base = this.#offsetBase[slot]!;
    if (w >= base && w - base < TWO_32) {
      Atomics.store(u32, at, w - base);
    } else {
      Atomics.store(this.#u64, at / 2, BigInt(w));
      this.#offsetBase[slot] = w - (w % TWO_32);
    }
    Atomics.store(u32, at + 2, length);
    // 6. write_offset.
    const writeBase = this.#writeOffsetBase;
    if (end >= writeBase && end - writeBase < TWO_32) {
      Atomics.store(u32, this.#writeOffsetWord * 2, end - writeBase);
    } else {
      Atomics.store(this.#u64, this.#writeOffsetWord, BigInt(end));
      this.#writeOffsetBase = end - (end % TWO_32);
    }

    offsets[slot] = w;
    if (count === 0) this.#oldest = slot;
    this.#count = count + 1;
    this.#latest = slot;
    this.#w = end;
    const next = pos + length;
    this.#ringPos = next >= ring ? next - ring : next;
    const offset = this.#wBig;
    if (length !== this.#lengthN) {
      this.#lengthN = length;
      this.#lengthBig = BigInt(length);
    }
    this.#wBig = offset + this.#lengthBig;
    return offset;
  }

  #dropOldest(): void {
    const oldest = this.#oldest;
    Atomics.store(this.#u32, this.#entryU32 + oldest * 4 + 2, 0);
    this.#oldest = (oldest + 1) & this.#slotMask;
    this.#count -= 1;
  }

  /**
   * The same protocol with exact 64-bit arithmetic, for a stream past 2^53
   * bytes (decades of writing for most programs, or a file configured so).
   */
  #commitBig(bytes: Uint8Array, data: Uint8Array): bigint {
    const length = data.length;
    const w = this.#wBig;
    const end = w + BigInt(length);
    if (end > U64_MAX) throw new RangeError(`the record stream is exhausted: ${length} more bytes would pass 2^64`);
    const limit = end - BigInt(this.#ring);
    const u64 = this.#u64;
    const entry = this.#entryWord;
    while (this.#count > 0 && Atomics.load(u64, entry + this.#oldest * 2) < limit) this.#dropOldest();
    const slot = (this.#latest + 1) & this.#slotMask;
    if (this.#count === this.#slots) this.#dropOldest();
    const pos = Number(w & this.layout.dataMask);
    const first = this.#ring - pos;
    if (length <= first) {
      bytes.set(data, this.#dataBase + pos);
    } else {
      bytes.set(data.subarray(0, first), this.#dataBase + pos);
      bytes.set(data.subarray(first), this.#dataBase);
    }
    Atomics.store(u64, entry + slot * 2, w);
    Atomics.store(u64, entry + slot * 2 + 1, BigInt(length));
    Atomics.store(u64, this.#writeOffsetWord, end);
    this.#offsetBase[slot] = Number(w >> 32n) * TWO_32;
    this.#writeOffsetBase = Number(end >> 32n) * TWO_32;
    // Only the number path compares these shadows, and it is never used
    // again once the stream is past 2^53; below it they stay exact.
    this.#offsets[slot] = Number(w);
    if (this.#count === 0) this.#oldest = slot;
    this.#count += 1;
    this.#latest = slot;
    this.#wBig = end;
    this.#w = end > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(end);
    this.#ringPos = Number(end & this.layout.dataMask);
    return w;
  }
}
