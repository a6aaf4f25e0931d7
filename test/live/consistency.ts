// The pre/post rule as pure functions: a record is kept iff the same
// (slot, offset, length) is valid in both scans; starvation iff records
// existed and none was kept.
import t from 'tap';
import fc from 'fast-check';
import type { Slot } from '../../src/format/index.js';
import { consistentSlots, isStarved } from '../../src/live/index.js';

const slot = (index: number, offset: bigint, length: number): Slot => ({ index, offset, length });

t.test('examples', async (t) => {
  const pre = [slot(0, 0n, 10), slot(1, 10n, 5), slot(2, 15n, 7)];
  t.same(consistentSlots(pre, pre), pre, 'nothing changed: all kept');
  t.same(consistentSlots(pre, [slot(0, 0n, 10), slot(1, 30n, 5), slot(2, 15n, 8)]), [slot(0, 0n, 10)], 'a new offset or length in a slot is a new record');
  t.same(consistentSlots(pre, [slot(1, 10n, 5), slot(2, 15n, 7), slot(3, 22n, 4)]), [slot(1, 10n, 5), slot(2, 15n, 7)], 'invalidated and new records are dropped');
  t.same(consistentSlots(pre, [slot(5, 0n, 10)]), [], 'the same pair in another slot is not the same record');
  t.equal(isStarved(pre, [slot(3, 22n, 4)], []), true);
  t.equal(isStarved([], [slot(3, 22n, 4)], []), true, 'records committed during the copy count as records');
  t.equal(isStarved([], [], []), false, 'a file with no records is not starved');
  t.equal(isStarved(pre, pre, pre), false);
});

t.test('property: kept = the pairs valid in both scans, never anything else', async (t) => {
  const arbSlots = fc.uniqueArray(fc.record({ index: fc.nat(15), offset: fc.bigInt({ min: 0n, max: 40n }), length: fc.integer({ min: 1, max: 3 }) }), { selector: (s) => s.index, maxLength: 16 });
  fc.assert(fc.property(arbSlots, arbSlots, (pre, post) => {
    const kept = consistentSlots(pre, post);
    const both = pre.filter((a) => post.some((b) => a.index === b.index && a.offset === b.offset && a.length === b.length));
    return kept.length === both.length
      && kept.every((k, i) => k.index === both[i]!.index && k.offset === both[i]!.offset && k.length === both[i]!.length)
      && isStarved(pre, post, kept) === (kept.length === 0 && (pre.length + post.length) > 0);
  }), { numRuns: 300 });
  t.pass('300 random scan pairs');
});
