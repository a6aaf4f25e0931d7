import {
  U64_MAX, WRITE_OFFSET_AT, checkRecordSet, copyRecord, readExtension, readSlot, validSlots,
  type Layout,
} from '../format/index.js';
import type { Mapping } from '../sys/index.js';

/** A committed record read back: its stream offset and a copy of its bytes. */
export interface CommittedRecord {
  readonly offset: bigint;
  readonly data: Uint8Array;
}

/**
 * The writer's side of one shared file (docs/FORMAT.md, "The writer").
 * One writer per file. `commit()` makes no system call, never waits and, in
 * the common case, allocates nothing but the bigint it returns.
 */
export class SharedState {
  readonly fd: number;
  readonly layout: Layout;
  #mapping: Mapping;
  #bytes: Uint8Array;
  #u64: BigUint64Array;
  #u32: Uint32Array;
  #slotMask: number;
  #dataBase: number;
  // Word (8-byte) indexes.
  #entryWord: number;
  #writeOffsetWord: number;
  // Writer state. The valid records are the run of `#count` slots ending at
  // `#latest`, in stream order, so invalidation is amortised O(1). Stream
  // offsets are kept as exact doubles while they are below 2^53 (`#w` is
  // Infinity past that and `#bigW` takes over); `#offsets` shadows each
  // slot's offset and `#offsetHi` the high half of its offset word.
  #w: number;
  #bigW: bigint | null = null;
  #ringPos: number;
  #latest: number;
  #oldest: number;
  #count: number;
  #offsets: Float64Array;
  #offsetHi: Uint32Array;
  #writeOffsetHi = new Uint32Array(1);
  #ownsFd: boolean;
  #closeFd: (fd: number) => void;

  /** @internal use attach() */
  constructor(fd: number, mapping: Mapping, layout: Layout, writeOffset: bigint, opts: { ownsFd: boolean; closeFd: (fd: number) => void }) {
    this.fd = fd;
    this.layout = layout;
    this.#mapping = mapping;
    this.#bytes = mapping.bytes;
    this.#u64 = new BigUint64Array(this.#bytes.buffer, this.#bytes.byteOffset, layout.tailBase / 8);
    this.#u32 = new Uint32Array(this.#bytes.buffer, this.#bytes.byteOffset, layout.tailBase / 4);
    this.#slotMask = layout.slots - 1;
    this.#dataBase = layout.dataBase;
    this.#entryWord = layout.entryBase / 8;
    this.#writeOffsetWord = WRITE_OFFSET_AT / 8;
    this.#ownsFd = opts.ownsFd;
    this.#closeFd = opts.closeFd;
    this.#offsets = new Float64Array(layout.slots);
    this.#offsetHi = new Uint32Array(layout.slots);
    for (let i = 0; i < layout.slots; i++) {
      const offset = Atomics.load(this.#u64, this.#entryWord + i * 2);
      this.#offsets[i] = Number(offset);
      this.#offsetHi[i] = Number(offset >> 32n);
    }
    this.#writeOffsetHi[0] = Number(Atomics.load(this.#u64, this.#writeOffsetWord) >> 32n);

    const resumed = this.#resumePoint(writeOffset);
    this.#latest = resumed.latest;
    this.#oldest = resumed.oldest;
    this.#count = resumed.count;
    this.#w = Number(resumed.writeOffset);
    if (resumed.writeOffset > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.#w = Number.POSITIVE_INFINITY;
      this.#bigW = resumed.writeOffset;
    }
    this.#ringPos = Number(resumed.writeOffset & layout.dataMask);
  }

  /**
   * Finds where to resume: after the latest record and after write_offset,
   * whichever is further. Valid records outside the contiguous run of slots
   * that ends at the latest one are invalidated (always safe: it only drops
   * old records), so the writer can keep them as a simple queue.
   */
  #resumePoint(headerWriteOffset: bigint): { writeOffset: bigint; latest: number; oldest: number; count: number } {
    const bytes = this.#bytes;
    const records = checkRecordSet(this.layout, validSlots(bytes, this.layout));
    const latest = records[records.length - 1];
    if (!latest) return { writeOffset: headerWriteOffset, latest: this.#slotMask, oldest: 0, count: 0 };
    const latestEnd = latest.offset + BigInt(latest.length);
    let oldest = latest.index;
    let count = 1;
    let newer = latest;
    while (count < this.layout.slots) {
      const prev = readSlot(bytes, this.layout, (oldest - 1) & this.#slotMask);
      if (prev.length === 0 || prev.offset + BigInt(prev.length) > newer.offset) break;
      oldest = prev.index;
      newer = prev;
      count += 1;
    }
    const inRun = new Set<number>();
    for (let i = 0, s = oldest; i < count; i++, s = (s + 1) & this.#slotMask) inRun.add(s);
    for (const r of records) if (!inRun.has(r.index)) Atomics.store(this.#u64, this.#entryWord + r.index * 2 + 1, 0n);
    return {
      writeOffset: latestEnd > headerWriteOffset ? latestEnd : headerWriteOffset,
      latest: latest.index,
      oldest,
      count,
    };
  }

  #live(): Uint8Array {
    if (this.#mapping.closed) throw new Error('this shared state is closed');
    return this.#bytes;
  }

  /** Bytes a record may have at most (the data ring size minus one). */
  get maxRecordSize(): number {
    return this.layout.ringSize - 1;
  }

  /**
   * Commits `data` as one record and returns its stream offset. After it
   * returns the record survives a crash of this process.
   */
  commit(data: Uint8Array): bigint {
    const bytes = this.#live();
    const length = data.length;
    const ring = this.layout.ringSize;
    if (length === 0 || length >= ring) {
      throw new RangeError(`a record must hold 1 to ${ring - 1} bytes (the data ring size minus one), got ${length}`);
    }
    const w = this.#w;
    const end = w + length;
    if (end > Number.MAX_SAFE_INTEGER) return this.#commitBig(bytes, data);
    const mask = this.#slotMask;
    const offsets = this.#offsets;
    const u32 = this.#u32;
    const entry = this.#entryWord;

    // 2. Invalidate, oldest first, every record whose bytes are about to be overwritten.
    const limit = end - ring;
    while (this.#count > 0 && offsets[this.#oldest]! < limit) this.#dropOldest();
    // 3. The slot after the latest; when every slot is in use it is the oldest.
    const slot = (this.#latest + 1) & mask;
    if (this.#count === this.layout.slots) this.#dropOldest();
    // 4. The bytes, across the ring's end if need be.
    const pos = this.#ringPos;
    const first = ring - pos;
    if (length <= first) {
      bytes.set(data, this.#dataBase + pos);
    } else {
      bytes.set(data.subarray(0, first), this.#dataBase + pos);
      bytes.set(data.subarray(first), this.#dataBase);
    }
    // 5. Offset, then length (a 4-byte store of the low half is the whole
    //    8-byte transition: the high half is already 0). Committed here.
    this.#storeWord(entry + slot * 2, this.#offsetHi, slot, w);
    Atomics.store(u32, (entry + slot * 2 + 1) * 2, length);
    // 6. write_offset.
    this.#storeWord(this.#writeOffsetWord, this.#writeOffsetHi, 0, end);

    offsets[slot] = w;
    if (this.#count === 0) this.#oldest = slot;
    this.#count += 1;
    this.#latest = slot;
    this.#w = end;
    const next = pos + length;
    this.#ringPos = next >= ring ? next - ring : next;
    return BigInt(w);
  }

  /**
   * An atomic store of `value` into the 8-byte word `word`. When its high
   * half does not change, one 4-byte atomic store of the low half moves the
   * word from its old value to the new one in a single step, and costs no
   * BigInt; otherwise a full 8-byte atomic store.
   */
  #storeWord(word: number, hiShadow: Uint32Array, at: number, value: number): void {
    const hi = Math.floor(value / 0x1_0000_0000);
    if (hiShadow[at] === hi) {
      Atomics.store(this.#u32, word * 2, value % 0x1_0000_0000);
    } else {
      Atomics.store(this.#u64, word, BigInt(value));
      hiShadow[at] = hi;
    }
  }

  #dropOldest(): void {
    const oldest = this.#oldest;
    Atomics.store(this.#u32, (this.#entryWord + oldest * 2 + 1) * 2, 0);
    this.#oldest = (oldest + 1) & this.#slotMask;
    this.#count -= 1;
  }

  /**
   * The same protocol with exact 64-bit arithmetic, for a stream past 2^53
   * bytes (decades of writing for most programs, or a file configured so).
   */
  #commitBig(bytes: Uint8Array, data: Uint8Array): bigint {
    const length = data.length;
    const w = this.#bigW ?? BigInt(this.#w);
    const end = w + BigInt(length);
    if (end > U64_MAX) throw new RangeError(`the record stream is exhausted: ${length} more bytes would pass 2^64`);
    const limit = end - BigInt(this.layout.ringSize);
    const u64 = this.#u64;
    const entry = this.#entryWord;
    while (this.#count > 0 && Atomics.load(u64, entry + this.#oldest * 2) < limit) this.#dropOldest();
    const slot = (this.#latest + 1) & this.#slotMask;
    if (this.#count === this.layout.slots) this.#dropOldest();
    const pos = Number(w & this.layout.dataMask);
    const first = this.layout.ringSize - pos;
    if (length <= first) {
      bytes.set(data, this.#dataBase + pos);
    } else {
      bytes.set(data.subarray(0, first), this.#dataBase + pos);
      bytes.set(data.subarray(first), this.#dataBase);
    }
    Atomics.store(u64, entry + slot * 2, w);
    Atomics.store(u64, entry + slot * 2 + 1, BigInt(length));
    Atomics.store(u64, this.#writeOffsetWord, end);
    this.#offsetHi[slot] = Number(w >> 32n);
    this.#writeOffsetHi[0] = Number(end >> 32n);
    // Past 2^53 the shadow offsets are only used for ordering, which the
    // BigInt path does not need; keep them monotonic.
    this.#offsets[slot] = Number(w);
    if (this.#count === 0) this.#oldest = slot;
    this.#count += 1;
    this.#latest = slot;
    this.#bigW = end;
    this.#w = Number.POSITIVE_INFINITY;
    this.#ringPos = Number(end & this.layout.dataMask);
    return w;
  }

  /** Stream offset where the next record will start. */
  get writeOffset(): bigint {
    this.#live();
    return this.#bigW ?? BigInt(this.#w);
  }

  /** A copy of the latest committed record, or null when there is none. */
  latest(): Uint8Array | null {
    const bytes = this.#live();
    if (this.#count === 0) return null;
    const slot = readSlot(bytes, this.layout, this.#latest);
    return copyRecord(bytes, this.layout, slot);
  }

  /** The latest record with its stream offset, or null. */
  latestRecord(): CommittedRecord | null {
    const bytes = this.#live();
    if (this.#count === 0) return null;
    const slot = readSlot(bytes, this.layout, this.#latest);
    return { offset: slot.offset, data: copyRecord(bytes, this.layout, slot) };
  }

  /** Every valid record, oldest first, as copies. */
  records(): CommittedRecord[] {
    const bytes = this.#live();
    const out: CommittedRecord[] = [];
    for (let i = 0, s = this.#oldest; i < this.#count; i++, s = (s + 1) & this.#slotMask) {
      const slot = readSlot(bytes, this.layout, s);
      out.push({ offset: slot.offset, data: copyRecord(bytes, this.layout, slot) });
    }
    return out;
  }

  /**
   * The application's own bytes after the data ring, a view into the shared
   * memory: writes land there directly. It dies with close(): using it after
   * close touches unmapped memory and crashes the process.
   */
  get tail(): Uint8Array {
    const bytes = this.#live();
    return bytes.subarray(this.layout.tailBase);
  }

  /** End of the newest record the host has made durable on disk (0 = none yet). */
  durableOffset(): bigint {
    return readExtension(this.#live()).durableOffset;
  }

  /** Sequence number of the snapshot that made `durableOffset()` durable (0 = none). */
  snapshotSeq(): bigint {
    return readExtension(this.#live()).snapshotSeq;
  }

  get closed(): boolean {
    return this.#mapping.closed;
  }

  /** Unmaps the file (and closes the fd if attach opened it). Views such as `tail` die with it. */
  close(): void {
    if (this.#mapping.closed) return;
    this.#mapping.close();
    if (this.#ownsFd) this.#closeFd(this.fd);
  }
}


