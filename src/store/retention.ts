// Which generations retention deletes: a pure decision, so it can be read
// (and tested) apart from the deleting.

/** Generations retention may keep: at least two, so one bad write never leaves nothing. */
export const MIN_KEEP = 2;
/** Generations kept when the caller does not say. */
export const DEFAULT_KEEP = 3;

/** Throws a RangeError unless `keep` is an integer >= MIN_KEEP. */
export function checkKeep(keep: number): number {
  if (!Number.isSafeInteger(keep) || keep < MIN_KEEP) {
    throw new RangeError(`keep must be a whole number of generations, at least ${MIN_KEEP}; got ${keep}`);
  }
  return keep;
}

/**
 * The sequences to delete from `sequences` (every generation, newest first)
 * to keep the newest `keep`, sparing `protect` (the newest generation that
 * verifies) wherever it is: it may be older than the newest `keep` when
 * those are all damaged, and it is then the only state left to restore.
 */
export function retentionVictims(sequences: readonly number[], keep: number, protect: number | null): number[] {
  return sequences.slice(keep).filter((s) => s !== protect);
}
