// Local generations the replica already holds a generation of the same
// sequence for. Usually it is the same one (shipped by this directory's
// host before a restart). But a directory can fall behind its replica (a
// takeover host wrote on; a host started while the replica was down
// numbered from what it had), and then the same number names two
// generations: the replica's is never overwritten, and the local one is
// never counted as replicated (its offset must not be published).
import { readFile } from 'node:fs/promises';
import { digestOf } from './digest.js';
import type { LocalGeneration } from './generation.js';
import type { RemoteGeneration } from './record.js';

/** A local generation the replica holds another generation in place of. */
export interface Diverged {
  sequence: number;
  /** One line: whose generation the replica holds, and what happens. */
  reason: string;
}

/**
 * Whether the replica's `remote` is local generation `g`: its manifest
 * (which names the image's checksum, size and offsets) has the same size
 * and digest. `gone` when the local manifest no longer exists (local
 * retention deleted it: no local generation depends on it any more).
 */
async function compare(g: LocalGeneration, remote: RemoteGeneration): Promise<'same' | 'other' | 'gone'> {
  let bytes: Buffer;
  try {
    bytes = await readFile(g.manifest.path);
  } catch {
    return 'gone';
  }
  return bytes.length === remote.manifest.bytes && digestOf(bytes, remote.manifest.partSize) === remote.manifest.digest ? 'same' : 'other';
}

/**
 * Takes out of `waiting` every generation whose sequence `remote` holds:
 * the same generation (replicated already) or one deleted here since it
 * was offered silently, another one added to
 * `foreign` and returned as Diverged (never to be uploaded over it).
 */
export async function reconcile(waiting: Map<number, LocalGeneration>, remote: ReadonlyMap<number, RemoteGeneration>, foreign: Set<number>): Promise<Diverged[]> {
  const diverged: Diverged[] = [];
  for (const g of [...waiting.values()]) {
    const r = remote.get(g.sequence);
    if (r === undefined) continue;
    waiting.delete(g.sequence);
    if ((await compare(g, r)) !== 'other') continue;
    foreign.add(g.sequence);
    diverged.push({
      sequence: g.sequence,
      reason: `the replica holds another generation ${g.sequence} (written by ${r.host} at ${r.created}): this directory fell behind the replica; the local one is not uploaded over it, and new generations number above the replica's`,
    });
  }
  return diverged;
}
