// The checksum of an image file, computed from the file alone (verify, and
// the capture's chunks it hashes after rewriting them); the digest itself is
// pure and lives in src/format (chunk-digests.ts).
import { CHUNK_SIZE, ChunkDigests, chunkRange } from '../format/index.js';
import { dataRuns } from '../sys/index.js';
import { readFullyWith, realStoreFs, type StoreFs } from './fs.js';

/**
 * Records into `digests` the chunks listed in `indexes` as they are now in
 * the file `fd` (reading only chunks that hold data).
 */
export async function digestChunksOfFile(fd: number, digests: ChunkDigests, indexes: Iterable<number>, sfs: StoreFs = realStoreFs): Promise<void> {
  const buf = new Uint8Array(CHUNK_SIZE);
  for (const index of indexes) {
    const { start, end } = chunkRange(index, digests.size);
    if (dataRuns(fd, start, end).length === 0) {
      digests.set(index, null);
      continue;
    }
    await readFullyWith(sfs, fd, buf, 0, end - start, start);
    digests.set(index, buf.subarray(0, end - start));
  }
}

/** The checksum of the first `size` bytes of the file `fd`, computed from the file alone. */
export async function checksumOfFile(fd: number, size: number, sfs: StoreFs = realStoreFs): Promise<string> {
  const digests = new ChunkDigests(size);
  await digestChunksOfFile(fd, digests, digests.missing(), sfs);
  return digests.value();
}
