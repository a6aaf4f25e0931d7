import { ShmHostError } from '../errors.js';
import { copyRecord, readExtension, readReplicated, readSlot, type Layout } from '../format/index.js';
import { MAX_VIEW_BYTES, type Mapping } from '../sys/index.js';
import { recordBytes, type RecordBytes } from './bytes.js';
import { CoverageWaiters, streamOffset, type DurableOptions } from './durable.js';
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
  /** The header and both rings: what the protocol reads and writes. */
  #bytes: Uint8Array;
  #tail: Uint8Array | null = null;
  #closed = false;
  #queue: RecordQueue;
  #ownsFd: boolean;
  #closeFd: (fd: number) => void;
  #durable: CoverageWaiters | null = null;
  #replicated: CoverageWaiters | null = null;

  /** @internal use attach() */
  constructor(fd: number, mapping: Mapping, layout: Layout, writeOffset: bigint, opts: { ownsFd: boolean; closeFd: (fd: number) => void }) {
    this.fd = fd;
    this.layout = layout;
    this.#mapping = mapping;
    this.#bytes = mapping.view(0, layout.tailBase);
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
   * Commits `input` as one record and returns its stream offset. After it
   * returns the record survives a crash of this process. A Uint8Array, any
   * other typed array or DataView (its raw bytes, `byteLength` of them) or an
   * ArrayBuffer; a string or anything else is a TypeError, before any store.
   */
  commit(input: RecordBytes): bigint {
    // Any other argument is a TypeError before any store (src/client/bytes.ts).
    const data = input instanceof Uint8Array ? input : recordBytes(input);
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

  /** Bytes of the tail (the file's size at attach time minus the header and rings). */
  get tailSize(): number {
    return this.layout.tailSize;
  }

  /**
   * The application's own bytes after the data ring, one view into the
   * shared memory: writes land there directly. It dies with close(): using
   * it after close touches unmapped memory and crashes the process. A tail
   * larger than one JavaScript buffer (`tailSize` above 4 GiB on Node 20)
   * is a RangeError: reach it with tailWindow(), readTail() and writeTail().
   */
  get tail(): Uint8Array {
    this.#live();
    if (this.#tail === null) {
      if (this.layout.tailSize > MAX_VIEW_BYTES) {
        throw new RangeError(`the tail has ${this.layout.tailSize} bytes, more than one JavaScript buffer holds in Node ${process.version} (${MAX_VIEW_BYTES}): use tailWindow(offset, length), readTail() or writeTail()`);
      }
      this.#tail = this.#mapping.view(this.layout.tailBase, this.layout.tailSize);
    }
    return this.#tail;
  }

  /**
   * A view of tail bytes [offset, offset + length) (offsets from the start
   * of the tail), into the shared memory like `tail`, for any tail size.
   * `length` is at most one buffer (MAX_VIEW_BYTES: 4 GiB on Node 20). Valid
   * until close(). RangeError for a range outside the tail.
   */
  tailWindow(offset: number, length: number): Uint8Array {
    this.#live();
    const { tailBase, tailSize } = this.layout;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > tailSize) {
      throw new RangeError(`tail bytes [${offset}, ${offset + length}) are outside the ${tailSize}-byte tail`);
    }
    return this.#mapping.view(tailBase + offset, length);
  }

  /** A copy of tail bytes [offset, offset + length). RangeError outside the tail. */
  readTail(offset: number, length: number): Uint8Array {
    return this.tailWindow(offset, length).slice();
  }

  /** Copies `bytes` into the tail at `offset`. RangeError when they would pass its end. */
  writeTail(offset: number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`writeTail() takes a Uint8Array, got ${typeof bytes}`);
    this.tailWindow(offset, bytes.length).set(bytes);
  }

  /** End of the newest record the host has made durable on disk (0 = none yet). */
  durableOffset(): bigint {
    return readExtension(this.#live()).durableOffset;
  }

  /** Sequence number of the snapshot that made `durableOffset()` durable (0 = none). */
  snapshotSeq(): bigint {
    return readExtension(this.#live()).snapshotSeq;
  }

  /**
   * End of the newest record on the host's replica (`--replica`), off this
   * machine: it survives the loss of the machine (0 = none yet, or no replica).
   */
  replicatedOffset(): bigint {
    return readReplicated(this.#live()).replicatedOffset;
  }

  /** Sequence number of the replicated generation that holds `replicatedOffset()` (0 = none). */
  replicatedSeq(): bigint {
    return readReplicated(this.#live()).replicatedSeq;
  }

  /**
   * Resolves (with the replicated offset it saw) once the record committed
   * at stream `offset` is on the replica: replicatedOffset() > offset.
   * Rejects as durable() does (signal, close). Never resolves under a host
   * without --replica: pass a signal.
   */
  replicated(offset: bigint, options: DurableOptions = {}): Promise<bigint> {
    const at = streamOffset(offset);
    this.#live();
    this.#replicated ??= new CoverageWaiters(() => this.replicatedOffset());
    return this.#replicated.wait(at, options);
  }

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
    const hint = 'close() only once no durable() or replicated() wait is pending, or end them first through their AbortSignal';
    this.#durable?.rejectAll(new ShmHostError('CLOSED', 'this shared state was closed while waiting for durability', { hint }));
    this.#replicated?.rejectAll(new ShmHostError('CLOSED', 'this shared state was closed while waiting for replication', { hint }));
    this.#tail = null;
    this.#mapping.close();
    if (this.#ownsFd) this.#closeFd(this.fd);
  }
}


