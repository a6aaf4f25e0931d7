// Double buffering in the tail (docs/FORMAT.md section 6): state too big for
// a record lives in the tail, and a crash never leaves its only copy
// half-written. The same 32-byte record as the Python and C clients:
//   [0, 8)   "SHMDBUF1"
//   [8, 16)  u64 version (1, 2, ...)
//   [16, 24) u64 length of this version in bytes
//   [24, 28) u32 half (0 or 1) holding it
//   [28, 32) u32 CRC-32 (zlib polynomial) of those bytes
import { crc32 } from 'node:zlib';
import { FormatError } from '../format/index.js';
import { recordBytes, type RecordBytes } from './bytes.js';
import type { SharedState } from './shared-state.js';

const RECORD_SIZE = 32;
const MAGIC = 0x3146_5542_444d_4853n; // "SHMDBUF1" read as a little-endian u64

interface Current {
  version: bigint;
  length: number;
  half: number;
  crc: number;
}

/**
 * Two halves of `capacity` bytes at tail[offset, offset + 2 * capacity).
 * write() copies the new version into the half the latest record does not
 * point at, then commits a record pointing at it: a crash during the copy
 * leaves the previous version and its record intact. The record must be the
 * state's latest (a program that commits other records too keeps their
 * meaning in this one).
 */
export class DoubleBuffer {
  readonly state: SharedState;
  readonly capacity: number;
  readonly offset: number;

  constructor(state: SharedState, capacity: number, offset = 0) {
    const tail = state.layout.tailSize;
    if (!Number.isSafeInteger(capacity) || !Number.isSafeInteger(offset) || capacity < 1 || offset < 0 || offset + 2 * capacity > tail) {
      throw new RangeError(`a double buffer of 2 x ${capacity} bytes at tail offset ${offset} does not fit the ${tail}-byte tail`);
    }
    this.state = state;
    this.capacity = capacity;
    this.offset = offset;
  }

  #current(): Current | null {
    const latest = this.state.latest();
    if (latest === null || latest.length !== RECORD_SIZE) return null;
    const dv = new DataView(latest.buffer, latest.byteOffset, RECORD_SIZE);
    if (dv.getBigUint64(0, true) !== MAGIC) return null;
    const length = dv.getBigUint64(16, true);
    return {
      version: dv.getBigUint64(8, true),
      length: length > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(length),
      half: dv.getUint32(24, true),
      crc: dv.getUint32(28, true),
    };
  }

  /**
   * The current version (a view into the tail, valid until the next write or
   * close) and its number, or null when the latest record is not one of ours.
   * A FormatError BAD_DOUBLE_BUFFER when the record or its half does not check.
   */
  read(): { version: bigint; data: Uint8Array } | null {
    const cur = this.#current();
    if (cur === null) return null;
    if (cur.half > 1 || cur.length > this.capacity) {
      throw new FormatError('BAD_DOUBLE_BUFFER', `the latest double-buffer record names half ${cur.half} of ${cur.length} bytes, the region has 2 halves of ${this.capacity}`);
    }
    const start = this.offset + cur.half * this.capacity;
    const data = this.state.tail.subarray(start, start + cur.length);
    if (crc32(data) !== cur.crc) {
      throw new FormatError('BAD_DOUBLE_BUFFER', `version ${cur.version} of the double buffer does not match its checksum: its half was written after its record (a snapshot copied it mid-write)`);
    }
    return { version: cur.version, data };
  }

  /** Writes `input` (at most `capacity` bytes) as the next version and commits its record; returns the record's stream offset. */
  write(input: RecordBytes): bigint {
    const data = recordBytes(input, 'DoubleBuffer.write()');
    if (data.length > this.capacity) throw new RangeError(`${data.length} bytes do not fit a double-buffer half of ${this.capacity} bytes`);
    const cur = this.#current();
    const half = cur === null ? 0 : (cur.half & 1) ^ 1;
    const version = cur === null ? 1n : cur.version + 1n;
    const start = this.offset + half * this.capacity;
    this.state.tail.set(data, start);
    const record = new Uint8Array(RECORD_SIZE);
    const dv = new DataView(record.buffer);
    dv.setBigUint64(0, MAGIC, true);
    dv.setBigUint64(8, version, true);
    dv.setBigUint64(16, BigInt(data.length), true);
    dv.setUint32(24, half, true);
    dv.setUint32(28, crc32(data), true);
    return this.state.commit(record);
  }
}
