// Whether a chain's files are all there, without reading them: checked
// before every delta is written, since a delta that finds its parent's
// block digests known may never open the parent's chain (src/live/
// changed-chunk.ts), and a lost or cut link would otherwise go unnoticed
// until a restore, with deltas stacked on it meanwhile.
import { basename } from 'node:path';
import { errorCode } from './errors.js';
import type { StoreFs } from './fs.js';
import { resolveChain } from './chain.js';
import type { Generation } from './types.js';

/**
 * Null when every link of `generation`'s chain has its manifest (readable,
 * fitting the chain: resolveChain) and its data file with the size the
 * manifest gives (a full image's imageSize, a delta file's fileBytes);
 * else one line naming the first link that does not, in the words a
 * restore would use. stat(2) only: a file's bytes are checked by verify.
 */
export async function chainFilesProblem(sfs: StoreFs, dir: string, generation: Generation): Promise<string | null> {
  const chain = await resolveChain(sfs, dir, generation);
  if (typeof chain === 'string') return `generation ${generation.sequence} cannot be read: ${chain}`;
  for (const g of chain) {
    const name = basename(g.imagePath);
    const what = g === generation ? name : `${name} (generation ${g.sequence}, which it depends on)`;
    const expected = g.manifest.delta?.fileBytes ?? g.manifest.imageSize;
    let size: number;
    try {
      size = (await sfs.stat(g.imagePath)).size;
    } catch (err) {
      const code = errorCode(err);
      return `generation ${generation.sequence} cannot be read: ${what} ${code === 'ENOENT' ? 'is missing' : `cannot be opened (${code ?? String(err)})`}`;
    }
    if (size !== expected) return `generation ${generation.sequence} cannot be read: ${what} has ${size} bytes but its manifest says ${expected} (truncated or replaced)`;
  }
  return null;
}
