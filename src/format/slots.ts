import { SLOT_SIZE, U64_MAX } from './constants.js';
import { FormatError, hex, invalidLayoutError } from './errors.js';
import type { Layout } from './layout.js';
import { wordsOf } from './words.js';

/** One entry slot as read: valid when `length` is non-zero. */
export interface Slot {
  readonly index: number;
  readonly offset: bigint;
  readonly length: number;
}

/** A valid record: the stream range [offset, offset + length). */
export type RecordRef = Slot;

const UNSTABLE_SLOT_TRIES = 100;

export const slotAt = (layout: Layout, index: number): number => layout.entryBase + index * SLOT_SIZE;

/**
 * Reads slot `index` as one consistent (offset, length) pair, each word an
 * atomic 8-byte load on a live mapping. A length that cannot be a record
 * (>= ring size) or a range past the end of the u64 stream is a FormatError.
 */
export function readSlot(bytes: Uint8Array, layout: Layout, index: number): Slot {
  const words = wordsOf(bytes);
  const at = slotAt(layout, index);
  // Offset, length, then the offset again. On a live file the writer may
  // reuse the slot between our two loads (offset := o', length := l'), and
  // offset-then-length alone would pair the old offset with the new length:
  // a "valid" record over bytes that were just overwritten, which a capture's
  // pre/post comparison cannot tell apart when l' equals the old length.
  // A slot's offset only ever grows, so an unchanged offset around the
  // length load proves the pair was in the slot together; else read again.
  let offset = words.load(at);
  let length = words.load(at + 8);
  let tries = 0;
  for (let again = words.load(at); again !== offset; again = words.load(at)) {
    // A slot that never holds still (only a hostile writer can do that)
    // reads as empty: dropping a record is always safe, a mixed pair is not.
    if (++tries > UNSTABLE_SLOT_TRIES) return { index, offset: again, length: 0 };
    offset = again;
    length = words.load(at + 8);
  }
  if (length === 0n) return { index, offset, length: 0 };
  if (length >= BigInt(layout.ringSize)) {
    throw invalidLayoutError('BAD_SLOT', `slot ${index} holds a ${length}-byte record, but the data ring has only ${layout.ringSize} bytes`);
  }
  if (offset > U64_MAX - length) {
    throw invalidLayoutError('BAD_SLOT', `slot ${index} record at offset ${offset} of ${length} bytes runs past the end of the u64 stream`);
  }
  return { index, offset, length: Number(length) };
}

/** Every valid slot in slot order (one pass, as the capture's pre- and post-scans need). */
export function validSlots(bytes: Uint8Array, layout: Layout): Slot[] {
  const out: Slot[] = [];
  for (let i = 0; i < layout.slots; i++) {
    const slot = readSlot(bytes, layout, i);
    if (slot.length !== 0) out.push(slot);
  }
  return out;
}

/** The valid record with the greatest offset, or null when there is none. */
export function latestOf(slots: readonly Slot[]): Slot | null {
  let latest: Slot | null = null;
  for (const s of slots) if (s.length !== 0 && (latest === null || s.offset > latest.offset)) latest = s;
  return latest;
}

/** Valid records oldest first. */
export function sortedRecords(slots: readonly Slot[]): Slot[] {
  return slots.filter((s) => s.length !== 0).sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

/**
 * Checks that a set of records read at one instant (an image, or a file no
 * one writes) is one the commit protocol can produce: records do not overlap,
 * and none lies in ring bytes that the latest record's writer had already
 * overwritten. Returns them oldest first.
 */
export function checkRecordSet(layout: Layout, slots: readonly Slot[]): Slot[] {
  const records = sortedRecords(slots);
  const latest = records[records.length - 1];
  if (!latest) return records;
  const latestEnd = latest.offset + BigInt(latest.length);
  const oldestAllowed = latestEnd - BigInt(layout.ringSize);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.offset < oldestAllowed) throw invalidLayoutError('BAD_RECORD_SET', overwritten(r, latestEnd));
    const next = records[i + 1];
    if (next && r.offset + BigInt(r.length) > next.offset) throw invalidLayoutError('BAD_RECORD_SET', overlap(r, next));
  }
  return records;
}

const overwritten = (r: Slot, latestEnd: bigint): string => `slot ${r.index} record at offset ${r.offset} lies in ring bytes overwritten by the record ending at ${latestEnd}`;
const overlap = (r: Slot, next: Slot): string => `records in slots ${r.index} and ${next.index} overlap (offsets ${r.offset} and ${next.offset})`;

/**
 * checkRecordSet() for a salvage (a damaged image read on purpose): rather
 * than refuse the set, leaves out both records of each overlapping pair
 * (which one is damaged cannot be told), then those in ring bytes the
 * newest one left overwrote, passing each problem to `skip`. Returns the
 * rest, oldest first.
 */
export function salvageRecordSet(layout: Layout, slots: readonly Slot[], skip: (problem: string) => void): Slot[] {
  const sorted = sortedRecords(slots);
  const bad = new Set<Slot>();
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [r, next] = [sorted[i]!, sorted[i + 1]!];
    if (r.offset + BigInt(r.length) <= next.offset) continue;
    skip(`${overlap(r, next)}: both left out`);
    bad.add(r).add(next);
  }
  const records = sorted.filter((r) => !bad.has(r));
  const latest = records[records.length - 1];
  if (!latest) return records;
  const latestEnd = latest.offset + BigInt(latest.length);
  const kept = records.filter((r) => r.offset >= latestEnd - BigInt(layout.ringSize));
  for (const r of records) if (!kept.includes(r)) skip(`${overwritten(r, latestEnd)}: left out`);
  return kept;
}

/** Byte position in the file of stream offset `s`. */
export function ringPosition(layout: Layout, s: bigint): number {
  return layout.dataBase + Number(s & layout.dataMask);
}

/**
 * Copies record [offset, offset + length) out of the data ring into `into`
 * (a new Uint8Array by default), across the ring's wrap-around.
 */
export function copyRecord(bytes: Uint8Array, layout: Layout, record: { offset: bigint; length: number }, into?: Uint8Array): Uint8Array {
  if (record.length >= layout.ringSize) {
    throw new FormatError('BAD_SLOT', `record of ${record.length} bytes does not fit a ${layout.ringSize}-byte ring (offset ${hex(record.offset)})`);
  }
  const out = into ?? new Uint8Array(record.length);
  const start = Number(record.offset & layout.dataMask);
  const first = Math.min(record.length, layout.ringSize - start);
  out.set(bytes.subarray(layout.dataBase + start, layout.dataBase + start + first), 0);
  if (first < record.length) out.set(bytes.subarray(layout.dataBase, layout.dataBase + record.length - first), first);
  return out;
}
