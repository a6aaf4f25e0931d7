import { copyRecord, readExtension, readSlot, type Layout } from '../format/index.js';
import type { Mapping } from '../sys/index.js';
import { RecordQueue } from './record-queue.js';

/** A committed record read back: its stream offset and a copy of its bytes. */
export interface CommittedRecord {
  readonly offset: bigint;
  readonly data: Uint8Array;
}

/**
 * The writer's side of one shared file (docs/FORMAT.md, "Committing a record").
 * One writer per file. `commit()` makes no system call, never waits and, in
 * the common case, allocates nothing but the bigint it returns (and the
 * length as a bigint when it differs from the previous record's); the
 * protocol itself is RecordQueue's.
 */
export class SharedState {
  readonly fd: number;
  readonly layout: Layout;
  #mapping: Mapping;
  #bytes: Uint8Array;
  #closed = false;
  #queue: RecordQueue;
  #ownsFd: boolean;
  #closeFd: (fd: number) => void;

  /** @internal use attach() */
  constructor(fd: number, mapping: Mapping, layout: Layout, writeOffset: bigint, opts: { ownsFd: boolean; closeFd: (fd: number) => void }) {
    this.fd = fd;
    this.layout = layout;
    this.#mapping = mapping;
    this.#bytes = mapping.bytes;
    this.#ownsFd = opts.ownsFd;
    this.#closeFd = opts.closeFd;
    this.#queue = new RecordQueue(this.#bytes, layout, writeOffset);
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
   * Commits `data` as one record and returns its stream offset. After it
   * returns the record survives a crash of this process.
   */
  commit(data: Uint8Array): bigint {
    if (this.#closed) throw new Error('this shared state is closed');
    return this.#queue.commit(data);
  }

  /** Stream offset where the next record will start. */
  get writeOffset(): bigint {
    this.#live();
    return this.#queue.writeOffset;
  }

  /** A copy of the latest committed record, or null when there is none. */
  latest(): Uint8Array | null {
    return this.latestRecord()?.data ?? null;
  }

  /** The latest record with its stream offset, or null. */
  latestRecord(): CommittedRecord | null {
    const bytes = this.#live();
    const run = this.#queue.run;
    if (run.count === 0) return null;
    const slot = readSlot(bytes, this.layout, run.latest);
    return { offset: slot.offset, data: copyRecord(bytes, this.layout, slot) };
  }

  /** Every valid record, oldest first, as copies. */
  records(): CommittedRecord[] {
    const bytes = this.#live();
    const { oldest, count } = this.#queue.run;
    const out: CommittedRecord[] = [];
    for (let i = 0, s = oldest; i < count; i++, s = (s + 1) & (this.layout.slots - 1)) {
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
    return this.#closed;
  }

  /** Unmaps the file (and closes the fd if attach opened it). Views such as `tail` die with it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mapping.close();
    if (this.#ownsFd) this.#closeFd(this.fd);
  }
}


