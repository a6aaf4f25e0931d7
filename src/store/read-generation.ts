// One generation of a directory by sequence: its manifest read and parsed,
// or why it cannot be, as data for callers that word it their own way.
import { errorCode } from './errors.js';
import type { StoreFs } from './fs.js';
import { manifestProblem, readManifestText } from './listing.js';
import { parseManifest } from './manifest.js';
import { generationPaths } from './names.js';
import type { Generation } from './types.js';

/**
 * Why a generation cannot be read: its manifest is `missing`, or it is
 * there and `problem` says what is wrong with it. `line` says either in
 * one line that names the generation.
 */
export interface UnreadableGeneration {
  readonly unreadable: true;
  readonly missing: boolean;
  readonly problem: string;
  readonly line: string;
}

/** A generation of `dir` by sequence, or why it cannot be read. */
export async function readGeneration(sfs: StoreFs, dir: string, sequence: number): Promise<Generation | UnreadableGeneration> {
  const { manifestPath } = generationPaths(dir, sequence);
  try {
    const manifest = parseManifest(await readManifestText(sfs, manifestPath), sequence);
    return { sequence, manifest, manifestPath, imagePath: generationPaths(dir, sequence, manifest.kind).imagePath };
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { unreadable: true, missing: true, problem: 'its manifest is missing', line: `generation ${sequence} is missing` };
    const problem = manifestProblem(err);
    return { unreadable: true, missing: false, problem, line: `generation ${sequence} cannot be read: ${problem}` };
  }
}
