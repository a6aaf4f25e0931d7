// Retention as it runs on a directory: which generations go (retention.ts
// decides), manifests first, data files after.
import { storeIoError } from './errors.js';
import { removeIfPresentWith, type StoreFs } from './fs.js';
import { scanDirectory } from './listing.js';
import { generationPaths } from './names.js';
import { dependentRetentionVictims } from './retention.js';
import { classify } from './settle.js';

/** What pruneGenerations needs of its store. */
export interface PruneContext {
  readonly fs: StoreFs;
  readonly dir: string;
  /** The newest generation that verifies, or null. */
  readonly newestVerified: () => Promise<number | null>;
  /** Generations to keep whatever `keep` says, with their chains (a replica's uploads). */
  readonly spare: () => ReadonlySet<number>;
  /** Removes a data file later (the caller's background work). */
  readonly removeLater: (path: string) => void;
}

/**
 * Deletes generations past the newest `keep`, sparing `knownGood` or else
 * the newest that verifies, and every generation a spared one depends on.
 * A generation stops existing when its manifest is deleted (now); its data
 * files go through `removeLater` (unlinking frees their cached pages, which
 * can take longer than a capture). Returns the sequences deleted; throws a
 * StoreError when a manifest cannot be deleted.
 */
export async function pruneGenerations(ctx: PruneContext, keep: number, knownGood: number | null): Promise<number[]> {
  const scan = await scanDirectory(ctx.fs, ctx.dir);
  if (scan.sequences.length <= keep) return [];
  // Only generations count and go: a file whose manifest name holds no
  // manifest (another program's, or damage to report) is never deleted,
  // and does not take the place of one that is kept.
  const { generations, parents } = await classify(ctx.fs, ctx.dir, scan.sequences);
  if (generations.length <= keep) return [];
  const protect = knownGood ?? (await ctx.newestVerified());
  const victims = dependentRetentionVictims(generations, keep, protect, parents, ctx.spare());
  for (const sequence of victims) {
    const { manifestPath, imagePath } = generationPaths(ctx.dir, sequence);
    try {
      await removeIfPresentWith(ctx.fs, manifestPath);
    } catch (err) {
      throw storeIoError('delete old generation', manifestPath, err);
    }
    ctx.removeLater(imagePath);
    ctx.removeLater(generationPaths(ctx.dir, sequence, 'delta').imagePath);
  }
  return victims;
}
