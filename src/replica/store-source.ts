// The store as a GenerationSource: a generation is its data file (a full
// image, or a delta of its parent) and its manifest, as the store lists
// them (SnapshotStore.filesOf); a delta names its parent.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SnapshotStore } from '../store/index.js';
import type { RemoteGeneration } from './record.js';
import type { GenerationSource, LocalGeneration } from './generation.js';

/**
 * Describes generation `sequence` of the snapshot directory `dir` (its
 * files, sizes in bytes, and its parent for a delta); `offset` is the
 * commit-log offset it holds (a decimal string, from its manifest:
 * latest.offset + latest.length), if known.
 * @throws the store's error (or ENOENT) when the generation or a file is gone.
 */
export async function describeStoreGeneration(dir: string, sequence: number, offset?: string): Promise<LocalGeneration> {
  const store = await SnapshotStore.open(dir, { readOnly: true });
  try {
    const generation = await store.get(sequence);
    const files = await Promise.all(store.filesOf(generation).map(async (f) => ({ role: f.role, name: basename(f.path), path: f.path, bytes: (await stat(f.path)).size })));
    const manifest = files.find((f) => f.role === 'manifest')!;
    const g: LocalGeneration = { sequence, files: files.filter((f) => f !== manifest).map(({ name, path, bytes }) => ({ name, path, bytes })), manifest: { name: manifest.name, path: manifest.path, bytes: manifest.bytes } };
    const parent = generation.manifest.parent;
    if (parent !== null && parent !== undefined) g.parent = parent;
    if (offset !== undefined) g.offset = offset;
    return g;
  } finally {
    await store.close();
  }
}

/** The complete generations of snapshot directory `dir`, oldest first. */
export function storeGenerationSource(dir: string): GenerationSource {
  return {
    async generations(): Promise<LocalGeneration[]> {
      const store = await SnapshotStore.open(dir, { readOnly: true });
      let sequences: number[];
      try {
        sequences = (await store.list()).filter((g) => g.ok).map((g) => g.sequence).sort((a, b) => a - b);
      } finally {
        await store.close();
      }
      const out: LocalGeneration[] = [];
      for (const s of sequences) {
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
