import {
  U64_MAX, WRITE_OFFSET_AT, checkRecordSet, copyRecord, readExtension, readSlot, validSlots,
  type Layout,
} from '../format/index.js';
import type { Mapping } from '../sys/index.js';
import { recordBytes, type RecordBytes } from './bytes.js';
import { CoverageWaiters, streamOffset, type DurableOptions } from './durable.js';

const TWO_32 = 0x1_0000_0000;

/** A committed record read back: its stream offset and a copy of its bytes. */
export interface CommittedRecord {
  readonly offset: bigint;
  readonly data: Uint8Array;
}

/**
 * The writer's side of one shared file (docs/FORMAT.md, "Committing a record").
 * One writer per file. `commit()` makes no system call, never waits and, in
 * the common case, allocates nothing but the bigint it returns (and the
 * length as a bigint when it differs from the previous record's).
 */
export class SharedState {
  readonly fd: number;
  readonly layout: Layout;
  #mapping: Mapping;
  #bytes: Uint8Array;
  #closed = false;
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
  #ownsFd: boolean;
  #closeFd: (fd: number) => void;
  #durable: CoverageWaiters | null = null;

  /** @internal use attach() */
  constructor(fd: number, mapping: Mapping, layout: Layout, writeOffset: bigint, opts: { ownsFd: boolean; closeFd: (fd: number) => void }) {
    this.fd = fd;
    this.layout = layout;
    this.#mapping = mapping;
    this.#bytes = mapping.bytes;
    this.#u64 = new BigUint64Array(this.#bytes.buffer, this.#bytes.byteOffset, layout.tailBase / 8);
    this.#u32 = new Uint32Array(this.#bytes.buffer, this.#bytes.byteOffset, layout.tailBase / 4);
    this.#ring = layout.ringSize;
    this.#slots = layout.slots;
    this.#slotMask = layout.slots - 1;
    this.#dataBase = layout.dataBase;
    this.#entryWord = layout.entryBase / 8;
    this.#entryU32 = layout.entryBase / 4;
    this.#writeOffsetWord = WRITE_OFFSET_AT / 8;
    this.#ownsFd = opts.ownsFd;
    this.#closeFd = opts.closeFd;
    this.#offsets = new Float64Array(layout.slots);
    this.#offsetBase = new Float64Array(layout.slots);
    for (let i = 0; i < layout.slots; i++) {
      const offset = Atomics.load(this.#u64, this.#entryWord + i * 2);
      this.#offsets[i] = Number(offset);
      this.#offsetBase[i] = Number(offset >> 32n) * TWO_32;
    }
    this.#writeOffsetBase = Number(Atomics.load(this.#u64, this.#writeOffsetWord) >> 32n) * TWO_32;

    const resumed = this.#resumePoint(writeOffset);
    this.#latest = resumed.latest;
    this.#oldest = resumed.oldest;
    this.#count = resumed.count;
    this.#wBig = resumed.writeOffset;
    this.#w = resumed.writeOffset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(resumed.writeOffset);
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
    if (this.#closed) throw new Error('this shared state is closed');
    return this.#bytes;
  }

  /** Bytes a record may have at most (the data ring size minus one). */
  get maxRecordSize(): number {
    return this.layout.ringSize - 1;
  }

  /**
   * Commits `input` as one record and returns its stream offset. After it
   * returns the record survives a crash of this process. A Uint8Array, any
   * other typed array or DataView (its raw bytes, `byteLength` of them) or an
   * ArrayBuffer; a string or anything else is a TypeError, before any store.
   */
  commit(input: RecordBytes): bigint {
    // Any other argument is a TypeError before any store (src/client/bytes.ts).
    const data = input instanceof Uint8Array ? input : recordBytes(input);
    if (this.#closed) throw new Error('this shared state is closed');
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

  /** Stream offset where the next record will start. */
  get writeOffset(): bigint {
    this.#live();
    return this.#wBig;
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

  // HOOK: replicated(offset) will be the same with a second CoverageWaiters
  // over the host's replicated-offset word, once replication publishes one.
  /**
   * Resolves (with the durable offset it saw) once the record committed at
   * stream `offset` (what commit() returned) is durable: durableOffset() >
   * offset, so it survives a crash of the host or the machine. Rejects with
   * `options.signal`'s reason when it aborts (e.g. AbortSignal.timeout(ms)),
   * and when the state is closed. Polls every millisecond while a wait is
   * pending, never otherwise (src/client/durable.ts).
   */
  durable(offset: bigint, options: DurableOptions = {}): Promise<bigint> {
    const at = streamOffset(offset);
    this.#live();
    this.#durable ??= new CoverageWaiters(() => this.durableOffset());
    return this.#durable.wait(at, options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Unmaps the file (and closes the fd if attach opened it). Views such as `tail` die with it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#durable?.rejectAll(new Error('this shared state was closed while waiting for durability'));
    this.#mapping.close();
    if (this.#ownsFd) this.#closeFd(this.fd);
  }
}


