// The delta soak: a writer changes 1% of the file between captures, the
// store keeps 3 generations; after every capture the directory's disk use
// must stay within 3x the image (plus a page per manifest and the lock).
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { attach } from '../../src/client/index.js';
import { F_SEAL_SHRINK, addSeals, memfdCreate } from '../../src/sys/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { restoreImage } from '../../src/live/index.js';
import { captureAsHost, closeAsHost } from './as-host.js';
import { diskUse, scatter } from './delta-cases.js';

export interface SoakResult {
  readonly captures: number;
  readonly fulls: number;
  readonly mostBytes: number;
  readonly bound: number;
  /** The first capture after which disk use passed the bound, or null. */
  readonly overAt: number | null;
}

/** Runs `captures` captures of a `size`-byte file into `dir` (keep 3, default chain limits) and restores the last. */
export async function soak(dir: string, size: number, captures: number): Promise<SoakResult> {
  const fd = memfdCreate('soak');
  ftruncateSync(fd, size);
  addSeals(fd, F_SEAL_SHRINK);
  const state = attach({ fd });
  const tailBase = state.layout.tailBase;
  const fill = Buffer.alloc(size - tailBase, 0x5a);
  writeSync(fd, fill, 0, fill.length, tailBase);
  const store = await SnapshotStore.open(dir, { keep: 3 });
  // Manifests and the lock take a page each beside the images.
  const bound = 3 * size + 8 * 4096;
  let mostBytes = 0;
  let fulls = 0;
  let overAt: number | null = null;
  try {
    for (let i = 0; i < captures; i++) {
      scatter(fd, tailBase, size, Math.max(4096, Math.floor((size * 0.01) / 4096) * 4096), i + 1);
      state.commit(new TextEncoder().encode(`capture ${i}`));
      const { generation } = await captureAsHost(fd, store, 'interval');
      if (generation.manifest.kind === 'full') fulls += 1;
      const used = diskUse(dir);
      mostBytes = Math.max(mostBytes, used);
      if (used > bound && overAt === null) overAt = i;
    }
    const { generation } = await store.newestVerified();
    if (generation === null) throw new Error('nothing to restore after the soak');
    const out = memfdCreate('soak-restore');
    await restoreImage(generation, out, 0, store);
    closeSync(out);
  } finally {
    await store.close();
    state.close();
    closeAsHost(fd);
  }
  return { captures, fulls, mostBytes, bound, overAt };
}
