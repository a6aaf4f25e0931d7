// The image a generation stands for, materialised through the store's own
// chain reading (SnapshotStore.openChain, what a restore reads): a full
// generation's image file, or a delta's parent images with each delta's
// blocks laid over them. Whatever checksum the generation carries, the
// bytes compared are the image itself.
import { dirname } from 'node:path';
import { SnapshotStore, type Generation } from '../../../src/store/index.js';

/** The whole image of `generation`, read through `store` (a broken chain throws the store's error). */
export async function imageOf(store: SnapshotStore, generation: Generation): Promise<Buffer> {
  const chain = await store.openChain(generation);
  try {
    const buf = Buffer.alloc(chain.size);
    if (chain.size > 0) await chain.read(buf, 0, chain.size, 0);
    return buf;
  } finally {
    await chain.close();
  }
}

/** imageOf() through a read-only store of the generation's own directory, on the real file system (reads change nothing a crash could lose). */
export async function capturedImage(generation: Generation): Promise<Buffer> {
  const store = await SnapshotStore.open(dirname(generation.manifestPath), { readOnly: true });
  try {
    return await imageOf(store, generation);
  } finally {
    await store.close();
  }
}
