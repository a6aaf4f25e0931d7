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

/**
 * retentionVictims() for generations that depend on others: `parents` maps
 * each sequence whose manifest could be read to its parent (null for a full
 * generation). The newest `keep` and `protect` stay, and so does every
 * generation a staying one needs to be restored (its parent, the parent's
 * parent... down to a full generation), as do `spare` and their chains.
 * Everything else goes.
 */
export function dependentRetentionVictims(
  sequences: readonly number[], keep: number, protect: number | null, parents: ReadonlyMap<number, number | null>, spare: Iterable<number> = [],
): number[] {
  const stay = new Set<number>();
  const need = (s: number): void => {
    for (let at: number | null | undefined = s; at != null && !stay.has(at); at = parents.get(at)) stay.add(at);
  };
  for (const s of sequences.slice(0, keep)) need(s);
  if (protect !== null) need(protect);
  // What a copy elsewhere (the replica) still has to read, with the chain it needs.
  for (const s of spare) if (parents.has(s)) need(s);
  return sequences.filter((s) => !stay.has(s));
}

/** Chain bounds: when a delta would make its chain longer than this, a full generation is written instead. */
export interface ChainLimits {
  /** Deltas after a full generation before the next full one (0: every generation is full). */
  readonly maxChain: number;
  /**
   * Bytes of a chain's delta files, as a fraction of the image size, at
   * which the next generation is full (0: every generation is full). A
   * delta's size is known only once written, so the last delta may take
   * the chain past it.
   */
  readonly maxChainRatio: number;
}

/**
 * Why 10 and 0.25: a restore reads the full image plus the chain's deltas,
 * places each delta block, then hashes the whole image again; measured
 * (docs/BENCHMARKS.md) a chain holding half the image in deltas restored in
 * about 2.1x the time of one full image, so a quarter keeps the longest
 * chain near the bound of 1.5x. Ten links keep a host restart's
 * chain walk short; a child that changes 1% per interval then writes a
 * full image every 11th capture.
 */
export const DEFAULT_CHAIN_LIMITS: ChainLimits = { maxChain: 10, maxChainRatio: 0.25 };

/** The highest limits a store takes (each from 0): past them a restart's chain walk and restore grow without a purpose. */
export const MAX_CHAIN_LIMITS: ChainLimits = { maxChain: 1000, maxChainRatio: 10 };

/** Throws a RangeError unless the limits are within 0..MAX_CHAIN_LIMITS. */
export function checkChainLimits(limits: ChainLimits): ChainLimits {
  const { maxChain, maxChainRatio } = MAX_CHAIN_LIMITS;
  if (!Number.isSafeInteger(limits.maxChain) || limits.maxChain < 0 || limits.maxChain > maxChain) {
    throw new RangeError(`maxChain must be a whole number of deltas from 0 to ${maxChain}; got ${limits.maxChain}`);
  }
  if (!Number.isFinite(limits.maxChainRatio) || limits.maxChainRatio < 0 || limits.maxChainRatio > maxChainRatio) {
    throw new RangeError(`maxChainRatio must be a fraction of the image size from 0 to ${maxChainRatio}; got ${limits.maxChainRatio}`);
  }
  return limits;
}

/**
 * True when a delta on `parent` (links, bytes of its chain's delta files)
 * stays within `limits` for an image of `imageSize` bytes: it would be at
 * most the `maxChain`th delta, and the chain's deltas hold less than
 * `maxChainRatio` of the image. Either limit 0: never (a user reads 0 as
 * "no deltas"; a ratio checked with <= let one delta follow every full
 * generation, whose chain holds 0 bytes).
 */
export function deltaAllowed(parent: { readonly links: number; readonly bytes: number }, imageSize: number, limits: ChainLimits): boolean {
  return parent.links + 1 <= limits.maxChain && parent.bytes < limits.maxChainRatio * imageSize;
}
