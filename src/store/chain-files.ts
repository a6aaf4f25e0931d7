// Whether a chain's files are all there, without reading their data:
// checked before every delta is written, since a delta that finds its
// parent's block digests known may never open the parent's chain (src/live/
// changed-chunk.ts), and a lost, cut or damaged link would otherwise go
// unnoticed until a restore, with deltas stacked on it meanwhile. The store
// keeps its delta parent's chain (DeltaTip) and what it saw of each link's
// manifest file (inode, size, change time): a manifest is read again only
// when it was not read since it was written, or its file changed since.
import { resolveChain } from './chain.js';
import { deltaFileSize } from './delta-file.js';
import type { StoreFs } from './fs.js';
import { readGeneration } from './read-generation.js';
import type { Generation, GenerationFile } from './types.js';
import type { Stats } from 'node:fs';
import { deltaSizeMismatch, fileSizeMismatch, fileUnopenable, linkName } from './unusable.js';

/** What a store saw of each generation's manifest file when it last found it fit: its stat identity. */
export type ManifestsSeen = WeakMap<Generation, string>;

const identity = (s: Stats): string => `${s.ino}/${s.size}/${s.ctimeMs}`;

/**
 * Null when every link of `generation`'s chain has a readable manifest that
 * fits the chain and its data file at the size the manifest gives (a full
 * image's imageSize, a delta file's size from its block counts); else why
 * the first link does not, in the words verify uses for `generation` (the
 * caller says which generation it is about) (all manifests are looked at before any data file, as a restore
 * reads them). `chain` is the chain as resolveChain() gives it (generation
 * first), when the caller knows it: then each file gets one stat(2), and
 * a manifest is read only when `seen` does not hold its file's identity;
 * without it the manifests are read to resolve the chain first. No data
 * file is read: their bytes are verify's to check.
 */
export async function chainFilesProblem(
  sfs: StoreFs, dir: string, generation: Generation, chain: readonly Generation[] | null = null, seen: ManifestsSeen = new WeakMap(),
): Promise<string | null> {
  const resolved = chain === null ? await resolveChain(sfs, dir, generation) : chain;
  if (typeof resolved === 'string') return resolved;
  const stats = await Promise.all(resolved.flatMap((g) => [g.manifestPath, g.imagePath]).map((path) => sfs.stat(path).then((s) => s, (err: unknown) => ({ err }))));
  // The manifests first; each as read now where it was not seen as it is.
  const links = [...resolved];
  for (let i = 0; i < links.length; i++) {
    const g = resolved[i]!;
    const stat = stats[2 * i];
    const id = 'err' in stat! ? null : identity(stat!);
    // resolveChain() read every manifest but the generation's own just now.
    if (id !== null && (seen.get(g) === id || (chain === null && i > 0))) {
      seen.set(g, id);
      continue;
    }
    const read = await readGeneration(sfs, dir, g.sequence);
    if ('unreadable' in read) return i === 0 ? read.problem : `its chain is broken: ${read.line}`;
    // A manifest that now names another parent: the chain (and the digests) kept are not the disk's, so no delta on them.
    if (read.manifest.parent !== g.manifest.parent) {
      return `the manifest of generation ${g.sequence} changed since it was read (it names parent ${read.manifest.parent ?? 'none'}, not ${g.manifest.parent ?? 'none'})`;
    }
    if (i > 0 && read.manifest.chain.links !== links[i - 1]!.manifest.chain.links - 1) {
      return `its chain is broken: generation ${g.sequence} is not the parent generation ${links[i - 1]!.sequence} was written against (chain lengths disagree)`;
    }
    links[i] = read;
    if (id !== null) seen.set(g, id);
  }
  // Then each data file, at the size its manifest gives.
  for (let i = 0; i < links.length; i++) {
    const g = links[i]!;
    const stat = stats[2 * i + 1]!;
    const what = linkName(g, links[0]!);
    if ('err' in stat) return fileUnopenable(what, stat.err);
    const d = g.manifest.delta;
    const expected = d === null ? g.manifest.imageSize : deltaFileSize(d.blockSize, d.held, d.stored);
    if (stat.size === expected) continue;
    // Worded as ChainImage.open words it: a delta file's size is its header's and index's check.
    return d === null ? fileSizeMismatch(what, stat.size, expected) : `${what} is damaged: ${deltaSizeMismatch(stat.size, expected)}`;
  }
  return null;
}

/** The files of one generation: its data file (image or delta) and its manifest. */
export function generationFiles(generation: Generation): GenerationFile[] {
  return [
    { role: generation.manifest.kind === 'full' ? 'image' : 'delta', path: generation.imagePath, bytes: generation.manifest.delta?.fileBytes ?? generation.manifest.imageSize },
    { role: 'manifest', path: generation.manifestPath, bytes: null },
  ];
}
