// Slots and records of a static image: reading a slot (and refusing a
// hostile one), the latest record, the record-set invariants, and copying a
// record out across the ring's wrap-around.
import t from 'tap';
import {
  PAGE_SIZE, U64_MAX, checkRecordSet, copyRecord, latestOf, planLayout, readSlot, ringPosition,
  slotAt, sortedRecords, validSlots, writeHeader, type Layout, type Slot,
} from '../../src/format/index.js';
import { throwsFormatError } from './helpers.js';

const SLOTS = 8;
const RING = 256;

function fresh(shift = 0): { bytes: Uint8Array; layout: Layout } {
  const size = 4 * PAGE_SIZE;
  const bytes = new Uint8Array(new ArrayBuffer(size + shift), shift, size);
  const layout = planLayout(size, SLOTS, RING);
  writeHeader(bytes, layout);
  return { bytes, layout };
}

function setSlot(bytes: Uint8Array, layout: Layout, index: number, offset: bigint, length: bigint): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  dv.setBigUint64(slotAt(layout, index), offset, true);
  dv.setBigUint64(slotAt(layout, index) + 8, length, true);
}

/** Writes `data` at stream offset `offset` of the data ring, wrapping, as a writer would. */
function writeStream(bytes: Uint8Array, layout: Layout, offset: bigint, data: Uint8Array): void {
  for (let i = 0; i < data.length; i++) bytes[ringPosition(layout, offset + BigInt(i))] = data[i]!;
}

const slot = (index: number, offset: bigint, length: number): Slot => ({ index, offset, length });

t.test('readSlot reads offset and length; length 0 is an empty slot', async (t) => {
  for (const shift of [0, 4]) {
    const { bytes, layout } = fresh(shift);
    setSlot(bytes, layout, 3, 1000n, 17n);
    setSlot(bytes, layout, 4, 5000n, 0n);
    t.same(readSlot(bytes, layout, 3), { index: 3, offset: 1000n, length: 17 });
    t.same(readSlot(bytes, layout, 4), { index: 4, offset: 5000n, length: 0 }, 'an invalid slot keeps its offset');
    t.same(validSlots(bytes, layout), [{ index: 3, offset: 1000n, length: 17 }]);
  }
});

t.test('readSlot refuses lengths that cannot be a record and ranges past 2^64', async (t) => {
  const { bytes, layout } = fresh();
  setSlot(bytes, layout, 0, 0n, BigInt(RING - 1));
  t.equal(readSlot(bytes, layout, 0).length, RING - 1, 'ring size minus one is the largest record');
  setSlot(bytes, layout, 0, 0n, BigInt(RING));
  throwsFormatError(t, () => readSlot(bytes, layout, 0), 'BAD_SLOT', /slot 0 holds a 256-byte record, but the data ring has only 256 bytes/);
  setSlot(bytes, layout, 1, 0n, U64_MAX);
  throwsFormatError(t, () => readSlot(bytes, layout, 1), 'BAD_SLOT', /slot 1 holds a 18446744073709551615-byte record/);
  throwsFormatError(t, () => validSlots(bytes, layout), 'BAD_SLOT', /slot 0/);

  const other = fresh();
  // Ends exactly at 2^64 - 1: the last representable stream byte range.
  setSlot(other.bytes, other.layout, 2, U64_MAX - 10n, 10n);
  t.same(readSlot(other.bytes, other.layout, 2), { index: 2, offset: U64_MAX - 10n, length: 10 });
  setSlot(other.bytes, other.layout, 2, U64_MAX - 9n, 10n);
  throwsFormatError(t, () => readSlot(other.bytes, other.layout, 2), 'BAD_SLOT', /runs past the end of the u64 stream/);
});

t.test('latestOf and sortedRecords order by stream offset, not by slot', async (t) => {
  const slots = [slot(0, 300n, 10), slot(1, 0n, 0), slot(2, 100n, 10), slot(3, 900n, 0), slot(4, 200n, 10)];
  t.same(latestOf(slots), slot(0, 300n, 10));
  t.same(sortedRecords(slots).map((s) => s.index), [2, 4, 0]);
  t.equal(latestOf([slot(0, 900n, 0)]), null, 'invalid slots never count, whatever their offset');
  t.equal(latestOf([]), null);
  // Offsets beyond 2^53 compare exactly.
  const big = 1n << 60n;
  t.same(latestOf([slot(0, big + 1n, 1), slot(1, big, 1)])?.index, 0);
});

t.test('checkRecordSet accepts what the commit protocol can leave behind', async (t) => {
  const { layout } = fresh();
  t.same(checkRecordSet(layout, []), []);
  // Records packed back to back, spanning exactly one ring, slots out of order.
  const ok = [slot(5, 1000n, 100), slot(6, 1100n, 100), slot(0, 1200n, 56)];
  t.same(checkRecordSet(layout, ok).map((s) => s.index), [5, 6, 0]);
  // Gaps are fine (a writer that resumed after write_offset).
  t.same(checkRecordSet(layout, [slot(1, 1000n, 10), slot(2, 1100n, 10)]).length, 2);
});

t.test('checkRecordSet refuses overlaps and records over overwritten bytes', async (t) => {
  const { layout } = fresh();
  throwsFormatError(t, () => checkRecordSet(layout, [slot(1, 1000n, 100), slot(2, 1099n, 10)]), 'BAD_RECORD_SET', /slots 1 and 2 overlap/);
  // The latest record ends at 1257: stream bytes before 1001 were overwritten.
  throwsFormatError(t, () => checkRecordSet(layout, [slot(3, 1000n, 1), slot(4, 1201n, 56)]), 'BAD_RECORD_SET', /slot 3 record at offset 1000 lies in ring bytes overwritten/);
  t.equal(checkRecordSet(layout, [slot(3, 1001n, 1), slot(4, 1201n, 56)]).length, 2, 'the oldest byte still in the ring');
  // Two records claiming the same offset overlap as well.
  throwsFormatError(t, () => checkRecordSet(layout, [slot(1, 50n, 5), slot(2, 50n, 5)]), 'BAD_RECORD_SET', /overlap/);
});

t.test('copyRecord copies across the wrap-around, into a new or given buffer', async (t) => {
  for (const shift of [0, 3]) {
    const { bytes, layout } = fresh(shift);
    const data = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
    for (const offset of [0n, 156n, 200n, 255n, 10n * 256n + 250n, (1n << 62n) + 230n]) {
      bytes.fill(0, layout.dataBase, layout.dataBase + RING);
      writeStream(bytes, layout, offset, data);
      t.same(copyRecord(bytes, layout, { offset, length: 100 }), data, `offset ${offset}`);
    }
    // A record exactly up to the ring's end, and one that starts at its end.
    writeStream(bytes, layout, 156n, data);
    t.equal(ringPosition(layout, 156n + 99n), layout.dataBase + 255);
    t.same(copyRecord(bytes, layout, { offset: 156n, length: 100 }), data);
    writeStream(bytes, layout, 256n, data);
    t.equal(ringPosition(layout, 256n), layout.dataBase);
    t.same(copyRecord(bytes, layout, { offset: 256n, length: 100 }), data);
    // The largest record (ring - 1 bytes) from the middle.
    const full = Uint8Array.from({ length: RING - 1 }, (_, i) => (i * 7) & 0xff);
    writeStream(bytes, layout, 1000n, full);
    const into = new Uint8Array(RING + 10);
    const out = copyRecord(bytes, layout, { offset: 1000n, length: RING - 1 }, into);
    t.equal(out, into, 'returns the buffer it was given');
    t.same(into.subarray(0, RING - 1), full);
  }
});

t.test('copyRecord refuses a record that does not fit the ring', async (t) => {
  const { bytes, layout } = fresh();
  throwsFormatError(t, () => copyRecord(bytes, layout, { offset: 0n, length: RING }), 'BAD_SLOT', /record of 256 bytes does not fit a 256-byte ring/);
});

t.test('ringPosition maps stream offsets into the ring, at any magnitude', async (t) => {
  const { layout } = fresh();
  t.equal(ringPosition(layout, 0n), layout.dataBase);
  t.equal(ringPosition(layout, 255n), layout.dataBase + 255);
  t.equal(ringPosition(layout, 256n), layout.dataBase);
  t.equal(ringPosition(layout, U64_MAX), layout.dataBase + 255);
  t.equal(ringPosition(layout, (1n << 53n) + 1n), layout.dataBase + 1, 'exact past 2^53');
});
