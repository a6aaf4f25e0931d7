// resumePoint (src/client/resume.ts), the pure part of attaching to a used
// file (docs/FORMAT.md section 4): where the next record goes, the run of
// valid slots the writer keeps as its queue, and every valid slot outside
// that run emptied before the first commit.
import t from 'tap';
import { planLayout, readSlot, slotAt, validSlots, writeHeader, type Layout } from '../../src/format/index.js';
import { resumePoint } from '../../src/client/resume.js';

const SLOTS = 8;
const RING = 256;

/** A configured file of 8 slots and a 256-byte ring with these slots (index -> [offset, length]). */
function file(slots: Record<number, [number, number]>, writeOffset = 0n): { bytes: Uint8Array; layout: Layout } {
  const layout = planLayout(3 * 4096, SLOTS, RING);
  const bytes = new Uint8Array(layout.fileSize);
  writeHeader(bytes, layout, writeOffset);
  const view = new DataView(bytes.buffer);
  for (const [index, [offset, length]] of Object.entries(slots)) {
    const at = slotAt(layout, Number(index));
    view.setBigUint64(at, BigInt(offset), true);
    view.setBigUint64(at + 8, BigInt(length), true);
  }
  return { bytes, layout };
}

t.test('no valid slot: resume at write_offset, the first record in slot 0', async (t) => {
  const { bytes, layout } = file({}, 1000n);
  const p = resumePoint(bytes, layout, 1000n);
  t.same(p, { writeOffset: 1000n, latest: SLOTS - 1, oldest: 0, count: 0 }, '"latest" is the last slot, so the next one is 0');
});

t.test('a run ending at the latest record: resume after it, or at write_offset when that is further', async (t) => {
  const slots: Record<number, [number, number]> = { 2: [100, 10], 3: [110, 20], 4: [130, 5] };
  const { bytes, layout } = file(slots, 135n);
  t.same(resumePoint(bytes, layout, 135n), { writeOffset: 135n, latest: 4, oldest: 2, count: 3 });
  const died = file(slots, 130n); // the writer died between storing the length and write_offset
  t.same(resumePoint(died.bytes, died.layout, 130n).writeOffset, 135n, 'the latest record\'s end, past a stale write_offset');
  const ahead = file(slots, 200n);
  t.same(resumePoint(ahead.bytes, ahead.layout, 200n).writeOffset, 200n, 'never below write_offset: stream offsets are not reused');
});

t.test('the run wraps around the entry ring', async (t) => {
  const { bytes, layout } = file({ 6: [0, 10], 7: [10, 10], 0: [20, 10], 1: [30, 10] }, 40n);
  t.same(resumePoint(bytes, layout, 40n), { writeOffset: 40n, latest: 1, oldest: 6, count: 4 });
});

t.test('valid slots outside the run are emptied, the run is kept', async (t) => {
  // Slot 0 is a stray (valid, not adjacent to the run 3..4); slot 2 is
  // empty, so the walk back from 4 stops at 3.
  const { bytes, layout } = file({ 0: [10, 5], 3: [100, 10], 4: [110, 10] }, 120n);
  const p = resumePoint(bytes, layout, 120n);
  t.same(p, { writeOffset: 120n, latest: 4, oldest: 3, count: 2 });
  t.equal(readSlot(bytes, layout, 0).length, 0, 'the stray slot is emptied');
  t.same(validSlots(bytes, layout).map((s) => s.index), [3, 4], 'only the run is left');
  t.same(resumePoint(bytes, layout, 120n), p, 'resuming again changes nothing');
});

t.test('a valid slot before the run whose record comes later in the stream is a stray, not part of the run', async (t) => {
  // Slot 2 [150, 160) ends after slot 3 [100, 110) starts: no writer taking
  // slots in order leaves that, so the walk back stops at slot 3.
  const { bytes, layout } = file({ 2: [150, 10], 3: [100, 10], 4: [300, 10] }, 310n);
  t.same(resumePoint(bytes, layout, 310n), { writeOffset: 310n, latest: 4, oldest: 3, count: 2 });
  t.same(validSlots(bytes, layout).map((s) => s.index), [3, 4], 'slot 2 emptied');
});

t.test('overlapping records are refused, not resumed', async (t) => {
  const { bytes, layout } = file({ 2: [95, 10], 3: [100, 10] }, 110n);
  t.throws(() => resumePoint(bytes, layout, 110n), { name: 'FormatError', code: 'BAD_RECORD_SET' });
});
