// The double buffer's bytes (docs/FORMAT.md section 6), shared byte for
// byte with the Python and C clients. Format 2, written from now on: each
// half starts with a 48-byte header, and the committed record is a copy of
// the header of the half it names (little-endian):
//   [0, 8)   "SHMDBUF2"
//   [8, 16)  u64 region: tail offset of the double buffer
//   [16, 24) u64 capacity: bytes per half, header included
//   [24, 32) u64 version (1, 2, ...)
//   [32, 40) u64 length of the version's bytes, at most capacity - 48
//   [40, 44) u32 half holding it (0 or 1)
//   [44, 48) u32 CRC-32 (zlib) of bytes [0, 44) followed by the version's bytes
// Format 1 (a 32-byte record "SHMDBUF1", version, length, half u32, CRC-32
// of the bytes; no header in the halves) is still read.
import { crc32 } from 'node:zlib';
import { FormatError } from '../format/index.js';

export const HEADER_SIZE = 48;
const V1_SIZE = 32;
const PREFIX = new TextEncoder().encode('SHMDBUF');
const V1 = 0x31; // '1'
const V2 = 0x32; // '2'

/** A version as a header (format 2) or a record names it. */
export interface Header {
  readonly format: 1 | 2;
  readonly region: number;
  readonly capacity: number;
  readonly version: bigint;
  readonly length: number;
  readonly half: number;
  readonly crc: number;
}

const toNumber = (v: bigint): number => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));

function decode(bytes: Uint8Array, format: 1 | 2): Header {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 1) {
    return { format, region: -1, capacity: -1, version: dv.getBigUint64(8, true), length: toNumber(dv.getBigUint64(16, true)), half: dv.getUint32(24, true), crc: dv.getUint32(28, true) };
  }
  return {
    format,
    region: toNumber(dv.getBigUint64(8, true)),
    capacity: toNumber(dv.getBigUint64(16, true)),
    version: dv.getBigUint64(24, true),
    length: toNumber(dv.getBigUint64(32, true)),
    half: dv.getUint32(40, true),
    crc: dv.getUint32(44, true),
  };
}

const hasPrefix = (bytes: Uint8Array): boolean => bytes.length >= 8 && PREFIX.every((b, i) => bytes[i] === b);

/**
 * The double-buffer record `record` (the state's latest), checked against
 * the double buffer at tail offset `region` of halves of `capacity` bytes;
 * null when it is not a double-buffer record (none, or the program's own).
 * FormatError BAD_DOUBLE_BUFFER when it is one this buffer cannot use: a
 * newer format, another geometry, or fields out of range.
 */
export function parseRecord(record: Uint8Array | null, region: number, capacity: number): Header | null {
  if (record === null || !hasPrefix(record)) return null;
  const tag = record[7]!;
  if (tag === V1 && record.length === V1_SIZE) {
    const h = decode(record, 1);
    if (h.half > 1 || h.length > capacity) throw outOfRange(h, capacity);
    return h;
  }
  if (tag === V2 && record.length === HEADER_SIZE) {
    const h = decode(record, 2);
    if (h.region !== region || h.capacity !== capacity) {
      throw new FormatError('BAD_DOUBLE_BUFFER', `the latest record belongs to a double buffer of 2 x ${h.capacity} bytes at tail offset ${h.region}, not 2 x ${capacity} at ${region}: open it as it was written`);
    }
    if (h.half > 1 || h.length > capacity - HEADER_SIZE) throw outOfRange(h, capacity - HEADER_SIZE);
    return h;
  }
  if (tag >= 0x33 && tag <= 0x39) {
    throw new FormatError('BAD_DOUBLE_BUFFER', `the latest record is a double-buffer record of format ${String.fromCharCode(tag)}, which this client does not read: upgrade the shm-host client`);
  }
  return null;
}

function outOfRange(h: Header, room: number): FormatError {
  return new FormatError('BAD_DOUBLE_BUFFER', `the latest double-buffer record names half ${h.half} of ${h.length} bytes, the halves hold at most ${room}`);
}

/**
 * The format-2 header at the start of `half` (the whole half, `capacity`
 * bytes) when it is intact: its magic, region, capacity and half are this
 * buffer's and its CRC-32 matches its fields and bytes. Null otherwise.
 */
export function intactHeader(half: Uint8Array, index: number, region: number): Header | null {
  const head = half.subarray(0, HEADER_SIZE);
  if (!hasPrefix(head) || head[7] !== V2) return null;
  const h = decode(head, 2);
  if (h.region !== region || h.capacity !== half.length || h.half !== index || h.length > half.length - HEADER_SIZE) return null;
  return checksum(head, half.subarray(HEADER_SIZE, HEADER_SIZE + h.length)) === h.crc ? h : null;
}

/** Whether two headers describe the same version (format 2: every field). */
export const sameVersion = (a: Header, b: Header): boolean =>
  a.version === b.version && a.length === b.length && a.half === b.half && a.crc === b.crc;

const checksum = (head: Uint8Array, data: Uint8Array): number => crc32(data, crc32(head.subarray(0, HEADER_SIZE - 4)));

/** Format 1's check: the record's CRC-32 over the bytes alone. */
export const v1Intact = (h: Header, data: Uint8Array): boolean => crc32(data) === h.crc;

/** The 48-byte header (and record) of `version` of `data` in `half`. */
export function encodeHeader(region: number, capacity: number, version: bigint, half: number, data: Uint8Array): Uint8Array {
  const head = new Uint8Array(HEADER_SIZE);
  const dv = new DataView(head.buffer);
  head.set(PREFIX);
  head[7] = V2;
  dv.setBigUint64(8, BigInt(region), true);
  dv.setBigUint64(16, BigInt(capacity), true);
  dv.setBigUint64(24, version, true);
  dv.setBigUint64(32, BigInt(data.length), true);
  dv.setUint32(40, half, true);
  dv.setUint32(44, checksum(head, data), true);
  return head;
}
