// Whether a chain's files are all there, without reading them: checked
// before every delta is written, since a delta that finds its parent's
// block digests known may never open the parent's chain (src/live/
// changed-chunk.ts), and a lost or cut link would otherwise go unnoticed
// until a restore, with deltas stacked on it meanwhile. The store keeps
// its delta parent's chain (DeltaTip): manifests never change once
// written, so a capture needs only stat(2), not their bytes again.
import type { StoreFs } from './fs.js';
import { generationFiles, resolveChain } from './chain.js';
import { readGeneration } from './read-generation.js';
import type { Generation } from './types.js';
import { fileSizeMismatch, fileUnopenable, linkName } from './unusable.js';

/**
 * Null when every link of `generation`'s chain has its manifest and its
 * data file, at the size the manifest gives (a full image's imageSize, a
 * delta file's fileBytes); else one line naming the first link that does
 * not, in the words a restore would use. `chain` is the chain as
 * resolveChain() gives it (generation first), when the caller knows it:
 * then only stat(2) is called, one per file, all at once; else the
 * manifests are read to resolve it first. A file's bytes are verify's to
 * check.
 */
export async function chainFilesProblem(sfs: StoreFs, dir: string, generation: Generation, chain: readonly Generation[] | null = null): Promise<string | null> {
  const links = chain ?? await resolveChain(sfs, dir, generation);
  const cannot = (reason: string): string => `generation ${generation.sequence} cannot be read: ${reason}`;
  if (typeof links === 'string') return cannot(links);
  // Each link's manifest first: a generation gone whole is said as a missing generation.
  const files = links.map((g) => generationFiles(g).sort((a, b) => Number(b.role === 'manifest') - Number(a.role === 'manifest')));
  const stats = await Promise.all(files.flat().map((f) => sfs.stat(f.path).then((s) => s.size, (err: unknown) => err)));
  for (let i = 0, at = 0; i < links.length; i++) {
    const g = links[i]!;
    for (const file of files[i]!) {
      const size = stats[at++];
      if (file.role === 'manifest') {
        if (typeof size === 'number') continue;
        // Gone or unreadable since it was written: as resolveChain() would say it.
        const read = await readGeneration(sfs, dir, g.sequence);
        if ('unreadable' in read) return cannot(g === generation ? read.problem : `its chain is broken: ${read.line}`);
        continue;
      }
      if (typeof size !== 'number') return cannot(fileUnopenable(linkName(g, generation), size));
      if (size !== file.bytes) return cannot(fileSizeMismatch(linkName(g, generation), size, file.bytes!));
    }
  }
  return null;
}
