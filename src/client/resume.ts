// Where a writer resumes in a file it takes over (after a restart or a
// restore): after its latest record, with the valid records as one run.
import { checkRecordSet, readSlot, validSlots, type Layout } from '../format/index.js';

/** Where to resume: the next write offset and the run of valid slots. */
export interface ResumePoint {
  readonly writeOffset: bigint;
  readonly latest: number;
  readonly oldest: number;
  readonly count: number;
}

/**
 * Finds where to resume: after the latest record and after write_offset,
 * whichever is further. Valid records outside the contiguous run of slots
 * that ends at the latest one are invalidated (always safe: it only drops
 * old records), so the writer can keep them as a simple queue.
 */
export function resumePoint(bytes: Uint8Array, layout: Layout, headerWriteOffset: bigint): ResumePoint {
  const mask = layout.slots - 1;
  const entryWord = layout.entryBase / 8;
  const u64 = new BigUint64Array(bytes.buffer, bytes.byteOffset, layout.dataBase / 8);
  const records = checkRecordSet(layout, validSlots(bytes, layout));
  const latest = records[records.length - 1];
  if (!latest) return { writeOffset: headerWriteOffset, latest: mask, oldest: 0, count: 0 };
  const latestEnd = latest.offset + BigInt(latest.length);
  let oldest = latest.index;
  let count = 1;
  let newer = latest;
  while (count < layout.slots) {
    const prev = readSlot(bytes, layout, (oldest - 1) & mask);
    if (prev.length === 0 || prev.offset + BigInt(prev.length) > newer.offset) break;
    oldest = prev.index;
    newer = prev;
    count += 1;
  }
  const inRun = new Set<number>();
  for (let i = 0, s = oldest; i < count; i++, s = (s + 1) & mask) inRun.add(s);
  for (const r of records) if (!inRun.has(r.index)) Atomics.store(u64, entryWord + r.index * 2 + 1, 0n);
  return {
    writeOffset: latestEnd > headerWriteOffset ? latestEnd : headerWriteOffset,
    latest: latest.index,
    oldest,
    count,
  };
}
