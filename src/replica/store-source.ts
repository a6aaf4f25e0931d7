// Today's store as a GenerationSource: a generation is its image and its
// manifest (gen-<seq>.img, gen-<seq>.json in the snapshot directory), full,
// with no parent. Delta generations will describe their parent here.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotStore, generationFileName, parseGenerationFileName } from '../store/index.js';
import type { RemoteGeneration } from './record.js';
import type { GenerationSource, LocalGeneration } from './generation.js';

/**
 * Describes generation `sequence` of the snapshot directory `dir`;
 * `offset` is the commit-log offset it holds (a decimal string, from its
 * manifest: latest.offset + latest.length), if known.
 * @throws the fs error (ENOENT) when a file is missing.
 */
export async function describeStoreGeneration(dir: string, sequence: number, offset?: string): Promise<LocalGeneration> {
  const file = async (kind: 'image' | 'manifest') => {
    const name = generationFileName(sequence, kind);
    const path = join(dir, name);
    return { name, path, bytes: (await stat(path)).size };
  };
  const g: LocalGeneration = { sequence, files: [await file('image')], manifest: await file('manifest') };
  if (offset !== undefined) g.offset = offset;
  return g;
}

/** The generations of snapshot directory `dir` that have both files, oldest first. */
export function storeGenerationSource(dir: string): GenerationSource {
  return {
    async generations(): Promise<LocalGeneration[]> {
      const kinds = new Map<number, Set<string>>();
      for (const name of await readdir(dir)) {
        const p = parseGenerationFileName(name);
        if (p === null) continue;
        const set = kinds.get(p.sequence) ?? new Set<string>();
        set.add(p.kind);
        kinds.set(p.sequence, set);
      }
      const complete = [...kinds].filter(([, k]) => k.size === 2).map(([s]) => s).sort((a, b) => a - b);
      const out: LocalGeneration[] = [];
      for (const s of complete) {
        try {
          out.push(await describeStoreGeneration(dir, s));
        } catch {
          // Deleted by retention since the listing: not durable any more.
        }
      }
      return out;
    },
  };
}

/**
 * The store's own check of a generation restored from a replica into
 * `dir` (its manifest and image checksum), for restoreFromReplica's
 * `verify`: null when it holds, else the reason.
 */
export async function verifyStoreGeneration(dir: string, generation: RemoteGeneration): Promise<string | null> {
  const store = await SnapshotStore.open(dir, { readOnly: true });
  try {
    const verdict = await store.verify(await store.get(generation.sequence));
    return verdict.ok ? null : verdict.reason;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await store.close();
  }
}
