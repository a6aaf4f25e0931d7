// The checksum of an image, computed from its bytes alone (verify, restore,
// and the capture's chunks it hashes after rewriting them); the digest
// itself is pure and lives in src/format (chunk-digests.ts).
import { CHUNK_SIZE, ChunkDigests, chunkRange } from '../format/index.js';
import { RunCursor, dataRuns, type Run } from '../sys/index.js';
import { readFullyWith, realStoreFs, type StoreFs } from './fs.js';

/** Reads image bytes [position, position + length) into buf[offset..]. */
export type ReadAt = (buf: Uint8Array, offset: number, length: number, position: number) => Promise<unknown>;

/**
 * Records into `digests` the chunks listed in `indexes` as they are now in
 * the file `fd` (reading only chunks that hold data).
 */
export async function digestChunksOfFile(fd: number, digests: ChunkDigests, indexes: Iterable<number>, sfs: StoreFs = realStoreFs): Promise<void> {
  const buf = new Uint8Array(digests.chunkSize);
  for (const index of indexes) {
    const { start, end } = chunkRange(index, digests.size, digests.chunkSize);
    if (dataRuns(fd, start, end).length === 0) {
      digests.set(index, null);
      continue;
    }
    await readFullyWith(sfs, fd, buf, 0, end - start, start);
    digests.set(index, buf.subarray(0, end - start));
  }
}

/**
 * Hashes every chunk of `digests` (any chunk size) from `read`, 1 MiB at a
 * time, reading only the data `runs` (default: all of it) and hashing the
 * rest as zeros.
 */
export async function digestImage(read: ReadAt, digests: ChunkDigests, runs: readonly Run[] = [[0, digests.size]]): Promise<void> {
  const step = Math.max(CHUNK_SIZE, digests.chunkSize);
  const buf = new Uint8Array(step);
  const cursor = new RunCursor(runs);
  for (let a = 0; a < digests.size; a += step) {
    const b = Math.min(a + step, digests.size);
    const inStep = cursor.within(a, b);
    for (const [r0, r1] of inStep) await read(buf, r0 - a, r1 - r0, r0);
    digests.setRange(a, b, buf, inStep, a);
  }
}

/** The checksum of the first `size` bytes of the file `fd` in chunks of `chunkSize`, computed from the file alone. */
export async function checksumOfFile(fd: number, size: number, sfs: StoreFs = realStoreFs, chunkSize = CHUNK_SIZE): Promise<string> {
  const digests = new ChunkDigests(size, chunkSize);
  await digestImage((buf, offset, length, position) => readFullyWith(sfs, fd, buf, offset, length, position), digests, dataRuns(fd, 0, size));
  return digests.value();
}
