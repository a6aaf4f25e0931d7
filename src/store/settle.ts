// What a writable store does to its directory when it opens it: sweep what
// interrupted writes left, make the directory durable, and find where
// numbering continues.
import { join } from 'node:path';
import { errorCode, storeIoError } from './errors.js';
import { removeIfPresentWith, syncDirectoryPath, type StoreFs } from './fs.js';
import { mapInOrder } from './in-order.js';
import { readManifestText, scanDirectory } from './listing.js';
import { parseManifest } from './manifest.js';
import { generationPaths } from './names.js';
import { basename } from 'node:path';

/** The data files a sweep removed (`paths`, from StoreOptions.onSwept), in one line, as the host logs them and the CLI's writers print them. */
export const sweptLine = (paths: readonly string[]): string =>
  `removed ${paths.length} data file${paths.length === 1 ? '' : 's'} no manifest names (an interrupted write's, or a generation whose manifest was deleted): ${paths.map((p) => basename(p)).join(', ')}`;

/**
 * Removes temporary files and images with no manifest from `dir`, fsyncs
 * the directory and every one above it, and returns the sequence the next
 * generation takes (after the newest real one), the sequences stray
 * files hold (never written over) and the data files removed (`swept`). Failures are StoreErrors naming the step.
 */
export async function settleDirectory(sfs: StoreFs, dir: string): Promise<{ nextSequence: number; strays: ReadonlySet<number>; swept: string[] }> {
  let step = 'clean up snapshot directory';
  try {
    const scan = await scanDirectory(sfs, dir);
    for (const name of scan.temporaries) await removeIfPresentWith(sfs, join(dir, name));
    // Data files no manifest names: said to the caller (a generation whose manifest was deleted loses its data here).
    const swept = [
      ...scan.orphanImages.map((sequence) => generationPaths(dir, sequence).imagePath),
      ...scan.orphanDeltas.map((sequence) => generationPaths(dir, sequence, 'delta').imagePath),
    ];
    for (const path of swept) await removeIfPresentWith(sfs, path);
    // What an earlier process left may not be on the disk yet; it is now,
    // before this one restores from it or adds to it.
    step = 'sync snapshot directory';
    await syncDirectoryPath(sfs, dir);
    // Numbering continues after the newest real generation: a stray file
    // named like one (whatever its number, up to the last a name holds)
    // must not move it, or use it up.
    step = 'read the manifests of';
    const { generations, strays } = await classify(sfs, dir, scan.sequences);
    return { nextSequence: (generations[0] ?? 0) + 1, strays: new Set(strays), swept };
  } catch (err) {
    throw storeIoError(step, dir, err);
  }
}

/**
 * Splits manifest-named `sequences` (newest first) into real generations
 * (the manifest parses) and strays (it does not: another program's file,
 * or a damaged manifest, which list and verify report).
 */
export async function classify(
  sfs: StoreFs, dir: string, sequences: readonly number[],
): Promise<{ generations: number[]; strays: number[]; parents: Map<number, number | null> }> {
  const generations: number[] = [];
  const strays: number[] = [];
  const parents = new Map<number, number | null>();
  const read = await mapInOrder(sequences, async (sequence) => {
    try {
      return { parent: parseManifest(await readManifestText(sfs, generationPaths(dir, sequence).manifestPath), sequence).parent };
    } catch (err) {
      // Deleted meanwhile (pruned by this store): neither.
      return errorCode(err) === 'ENOENT' ? 'gone' : 'stray';
    }
  });
  sequences.forEach((sequence, i) => {
    const r = read[i]!;
    if (r === 'stray') strays.push(sequence);
    else if (r !== 'gone') {
      parents.set(sequence, r.parent);
      generations.push(sequence);
    }
  });
  return { generations, strays, parents };
}

