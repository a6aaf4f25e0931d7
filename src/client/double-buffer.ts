// Double buffering in the tail (docs/FORMAT.md section 6): state too big for
// a record lives in the tail, and neither a crash of the child nor a
// snapshot that copied a half while it was rewritten leaves a program
// without an intact version. Byte for byte the Python and C clients' format
// (double-buffer-format.ts).
import { FormatError } from '../format/index.js';
import { recordBytes, type RecordBytes } from './bytes.js';
import { HEADER_SIZE, encodeHeader, intactHeader, parseRecord, sameVersion, v1Intact, type Header } from './double-buffer-format.js';
import type { SharedState } from './shared-state.js';

/** A version read back. */
export interface DoubleBufferVersion {
  readonly version: bigint;
  /** Its bytes: a view into the tail, valid until the next write() or close(). */
  readonly data: Uint8Array;
  /**
   * True when the half the latest record names did not hold that version
   * intact (a snapshot copied it while the writer rewrote it) and this is
   * the newest intact version of either half instead: the previous version,
   * or one the writer completed after the snapshot's latest record.
   */
  readonly recovered: boolean;
}

interface Found {
  readonly version: bigint;
  readonly half: number;
  readonly start: number;
  readonly length: number;
  readonly recovered: boolean;
}

/**
 * Two halves of `capacity` bytes at tail[offset, offset + 2 * capacity),
 * each a 48-byte header and up to `capacity - 48` bytes of a version.
 * write() puts the new version and its header into the half that does not
 * hold the current version, then commits a copy of the header as a record.
 * read() returns the version the latest record names when its half still
 * holds it, else the newest intact version in either half. The record must
 * be the state's latest (a program that also commits records of its own
 * keeps their meaning in the double buffer's bytes).
 */
export class DoubleBuffer {
  readonly state: SharedState;
  readonly capacity: number;
  readonly offset: number;
  /** The largest version write() takes, in bytes: capacity - 48. */
  readonly maxVersionSize: number;
  // What this object last wrote or read, keyed by the stream offset of the
  // latest record then: while that record is still the latest, write() needs
  // no checksum pass (nothing but this process writes its memory).
  #known: { offset: bigint; next: bigint; half: number } | null = null;

  /** RangeError when the two halves do not fit the tail or a half cannot hold its 48-byte header and a byte. */
  constructor(state: SharedState, capacity: number, offset = 0) {
    const tail = state.layout.tailSize;
    if (!Number.isSafeInteger(capacity) || !Number.isSafeInteger(offset) || capacity < 1 || offset < 0 || offset + 2 * capacity > tail) {
      throw new RangeError(`a double buffer of 2 x ${capacity} bytes at tail offset ${offset} does not fit the ${tail}-byte tail`);
    }
    if (capacity <= HEADER_SIZE) throw new RangeError(`a double-buffer half of ${capacity} bytes cannot hold its ${HEADER_SIZE}-byte header and a version`);
    this.state = state;
    this.capacity = capacity;
    this.offset = offset;
    this.maxVersionSize = capacity - HEADER_SIZE;
  }

  #half(index: number): Uint8Array {
    return this.state.tailWindow(this.offset + index * this.capacity, this.capacity);
  }

  /** Where the version to read is, or null when neither half holds one intact. */
  #locate(record: Header): Found | null {
    const named = this.#half(record.half);
    if (record.format === 1) {
      return v1Intact(record, named.subarray(0, record.length)) ? { version: record.version, half: record.half, start: 0, length: record.length, recovered: false } : null;
    }
    const own = intactHeader(named, record.half, this.offset);
    if (own && sameVersion(own, record)) return { version: own.version, half: own.half, start: HEADER_SIZE, length: own.length, recovered: false };
    const other = intactHeader(this.#half(record.half ^ 1), record.half ^ 1, this.offset);
    const best = own && (other === null || own.version > other.version) ? own : other;
    return best && { version: best.version, half: best.half, start: HEADER_SIZE, length: best.length, recovered: true };
  }

  /**
   * The current version, or null when the latest record is not a
   * double-buffer record. FormatError BAD_DOUBLE_BUFFER when the record is
   * of another geometry or a newer format, or when no half holds an intact
   * version (one line each).
   */
  read(): DoubleBufferVersion | null {
    this.#known = null;
    const latest = this.state.latestRecord();
    const record = parseRecord(latest?.data ?? null, this.offset, this.capacity);
    if (latest === null || record === null) return null;
    const found = this.#locate(record);
    if (found === null) {
      throw new FormatError('BAD_DOUBLE_BUFFER', record.format === 1
        ? `version ${record.version} of the double buffer (format 1, written by an older client) does not match its checksum: a snapshot copied its half while it was rewritten, and format 1 keeps no second version to fall back on`
        : `neither half of the double buffer at tail offset ${this.offset} holds an intact version: the latest record names version ${record.version} in half ${record.half} (a snapshot copied both halves while they were rewritten)`);
    }
    this.#known = { offset: latest.offset, next: (found.version > record.version ? found.version : record.version) + 1n, half: found.half };
    const half = this.#half(found.half);
    return { version: found.version, data: half.subarray(found.start, found.start + found.length), recovered: found.recovered };
  }

  /**
   * Writes `input` (at most maxVersionSize bytes) as the next version into
   * the half that does not hold the current one, then commits its record;
   * returns the record's stream offset (for durable()). RangeError when too
   * big; FormatError as read() for a record of another geometry or format.
   */
  write(input: RecordBytes): bigint {
    const data = recordBytes(input, 'DoubleBuffer.write()');
    if (data.length > this.maxVersionSize) {
      throw new RangeError(`${data.length} bytes do not fit a double-buffer half of ${this.capacity} bytes (at most ${this.maxVersionSize} after its ${HEADER_SIZE}-byte header)`);
    }
    const latest = this.state.latestRecord();
    let target: number;
    let version: bigint;
    if (latest !== null && this.#known?.offset === latest.offset) {
      target = this.#known.half ^ 1;
      version = this.#known.next;
    } else {
      const record = parseRecord(latest?.data ?? null, this.offset, this.capacity);
      const found = record && this.#locate(record);
      if (record === null) {
        // A new series: a header left in half 1 by an earlier one must never
        // be taken for a version of this one.
        [target, version] = [0, 1n];
        this.#half(1).fill(0, 0, HEADER_SIZE);
      } else if (found === null) {
        [target, version] = [record.half ^ 1, record.version + 1n];
      } else {
        [target, version] = [found.half ^ 1, (found.version > record.version ? found.version : record.version) + 1n];
      }
    }
    const half = this.#half(target);
    half.set(data, HEADER_SIZE);
    const header = encodeHeader(this.offset, this.capacity, version, target, data);
    half.set(header, 0);
    const offset = this.state.commit(header);
    this.#known = { offset, next: version + 1n, half: target };
    return offset;
  }
}
