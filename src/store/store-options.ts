// The store's options checked: a bad one is StoreError BAD_OPTION, naming the fix.
import { StoreError } from './errors.js';
import { DEFAULT_CHAIN_LIMITS, MAX_CHAIN_LIMITS, checkChainLimits, checkKeep, type ChainLimits } from './retention.js';

/** `keep` checked for the store in `dir`. */
export function keepOption(keep: number, dir: string): number {
  try {
    return checkKeep(keep);
  } catch (err) {
    throw new StoreError('BAD_OPTION', (err as Error).message, { path: dir, hint: 'keep 2 or more generations', option: 'keep' });
  }
}

/** The chain limits for the store in `dir`: the defaults, overridden by `given`. */
export function chainLimitsOption(given: Partial<ChainLimits> | undefined, dir: string): ChainLimits {
  try {
    return checkChainLimits({ ...DEFAULT_CHAIN_LIMITS, ...given });
  } catch (err) {
    throw new StoreError('BAD_OPTION', (err as Error).message, { path: dir, hint: `allow 0 to ${MAX_CHAIN_LIMITS.maxChain} deltas in a chain and a ratio of 0 to ${MAX_CHAIN_LIMITS.maxChainRatio}`, option: 'chain' });
  }
}
