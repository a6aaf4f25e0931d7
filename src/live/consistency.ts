// The queue strategy's proof of consistency (docs/FORMAT.md, section 8, steps 4 and 7),
// as pure functions over the two scans.
import type { Slot } from '../format/index.js';

/**
 * The records that are consistent in a copy taken between scans `pre` and
 * `post`: the same (slot, offset, length) valid in both. A slot's offset
 * only grows and a record's bytes are overwritten only after its slot was
 * invalidated, so such a record was untouched for the whole copy.
 */
export function consistentSlots(pre: readonly Slot[], post: readonly Slot[]): Slot[] {
  const after = new Map<number, Slot>();
  for (const s of post) if (s.length !== 0) after.set(s.index, s);
  return pre.filter((s) => {
    const p = after.get(s.index);
    return s.length !== 0 && p !== undefined && p.offset === s.offset && p.length === s.length;
  });
}

/**
 * True when both scans saw exactly the same valid records (nothing wrote
 * during the copy); `consistent` is consistentSlots(pre, post) when known.
 */
export function sameRecords(pre: readonly Slot[], post: readonly Slot[], consistent: readonly Slot[] = consistentSlots(pre, post)): boolean {
  return consistent.length === pre.length && pre.length === post.length;
}

/**
 * A capture is starved when the live file had valid records (in either
 * scan) but none is consistent: the child outran the copy, and an image
 * with no record would lose all of its state.
 */
export function isStarved(pre: readonly Slot[], post: readonly Slot[], consistent: readonly Slot[]): boolean {
  return consistent.length === 0 && (pre.length > 0 || post.length > 0);
}
