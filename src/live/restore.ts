// Restoring a generation into a memory file: a full image copied (holes stay
// holes), or a delta's chain applied: the full image, then each block from
// the newest delta that holds it. Either way the memory file is hashed
// afterwards and must match the manifest's checksum of the whole image.
import fs from 'node:fs';
import { ChunkDigests, HEADER_SIZE, IMAGE_CHUNK_SIZE, chunkSizeOf } from '../format/index.js';
import {
  StoreError, UnusableGeneration, chainUnreadable, checksumMismatch, imageSizeMismatch, imageUnopenable, imageUnreadable, storeIoError, unknownAlgorithm,
  type ChainImage, type Generation, type SnapshotStore,
} from '../store/index.js';
import { Mapping, MappingWindows, RunCursor, close, dataRuns, fstat, ftruncate, open } from '../sys/index.js';
import { copyIntoMemoryFile } from './into-memory-file.js';
import { publishDurable } from './publish-durable.js';
import { CopyError } from './sparse-copy.js';
import { digestChunks } from './parallel-digests.js';

/**
 * Copies a generation's image into the memory file `fd` (normally a new
 * one), growing it to max(minSize, image size). A delta needs `store` (its
 * chain is read through it). The image is hashed as it is copied, and must
 * match its manifest's checksum, else this throws UnusableGeneration (a
 * StoreError CORRUPT, also thrown when the generation's files cannot be
 * read) and the caller must not use the file; a failed write into `fd` is
 * the store's I/O error. So the caller
 * need not have checked the checksum before (verifyAll() with
 * imageChecksum false checks the rest): the image is read once. Afterwards the
 * file's header says that everything in it is durable (durable_offset = end
 * of its latest record, snapshot_seq = the generation), and `store` (when
 * given) remembers the image's chunk digests and its chain, so that the
 * next capture can be a delta of it without reading the manifests again.
 */
export async function restoreImage(generation: Generation, fd: number, minSize: number, store?: SnapshotStore): Promise<{ size: number }> {
  const { manifest } = generation;
  const chunkSize = chunkSizeOf(manifest.checksum.algorithm);
  if (chunkSize === null) throw new UnusableGeneration(generation, unknownAlgorithm(manifest));
  const size = Math.max(minSize, manifest.imageSize);
  // To 128 bits where the next capture may be a delta of it (wide-digest.ts).
  const digests = new ChunkDigests(manifest.imageSize, chunkSize, chunkSize === IMAGE_CHUNK_SIZE);
  let links: readonly Generation[] = [generation];
  if (manifest.kind === 'full') await restoreFull(generation, fd, size, digests);
  else {
    if (store === undefined) throw new Error('restoring a delta generation needs its store');
    // Each link's file checksum is not read again here: the caller verified
    // the links, and a change since then fails the check of the whole
    // image's checksum below.
    let chain: ChainImage;
    try {
      chain = await store.openChain(generation, { checkFiles: false });
    } catch (err) {
      if (err instanceof StoreError && err.code === 'CORRUPT') throw new UnusableGeneration(generation, err.problem, err);
      throw err;
    }
    links = chain.chain;
    try {
      await restoreChain(generation, chain, fd, size, digests);
    } finally {
      await chain.close();
    }
  }
  const actual = digests.value();
  // A delta's mismatch names the full generation at its chain's root.
  if (actual !== manifest.checksum.value) throw new UnusableGeneration(generation, checksumMismatch(generation, actual, links.at(-1)!.sequence));
  if (manifest.configured && manifest.latest !== null && manifest.imageSize >= HEADER_SIZE) {
    publishDurable(fd, BigInt(manifest.latest.offset) + BigInt(manifest.latest.length), manifest.sequence);
  }
  store?.remember(generation, digests, null, links);
  return { size };
}

async function restoreFull(generation: Generation, fd: number, size: number, digests: ChunkDigests): Promise<void> {
  const { manifest, imagePath } = generation;
  let imageFd: number;
  try {
    imageFd = await open(imagePath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new UnusableGeneration(generation, imageUnopenable(imagePath, err), err);
  }
  try {
    const imageSize = (await fstat(imageFd)).size;
    if (imageSize !== manifest.imageSize) throw new UnusableGeneration(generation, imageSizeMismatch(imagePath, imageSize, manifest.imageSize));
    // Hashed in the memory file's pages: the checksum covers exactly what the child will see.
    await copyIntoMemoryFile(imageFd, fd, imageSize, size, digests);
  } catch (err) {
    if (err instanceof CopyError && err.side === 'read') throw new UnusableGeneration(generation, imageUnreadable(imagePath, err.cause), err.cause);
    if (err instanceof CopyError) throw storeIoError('write the restored memory file from', imagePath, err.cause);
    throw err;
  } finally {
    await close(imageFd).catch(() => {});
  }
}

/** The chain's full image, then every block a delta holds (from the newest that holds it), then the hash. */
async function restoreChain(generation: Generation, chain: ChainImage, fd: number, size: number, digests: ChunkDigests): Promise<void> {
  if (chain.size === 0) {
    await copyInto(generation, chain, fd, size);
    return;
  }
  // One mapping for the base image's copy, the deltas and the hash, seen
  // through windows (one JavaScript view may not span a multi-GiB file).
  const before = (await fstat(fd)).size;
  if (before < chain.size) await ftruncate(fd, chain.size);
  const mapping = Mapping.map(fd, chain.size, { writable: true });
  const windows = new MappingWindows(mapping);
  try {
    await copyInto(generation, chain, fd, size, windows);
    try {
      // A zero block over data: zeros written only where there is data, so holes stay holes.
      await chain.applyDeltas((bytes, at) => windows.get(at, at + bytes.length).set(bytes), (start, end) => {
        if (dataRuns(fd, start, end).length > 0) windows.get(start, end).fill(0);
      });
    } catch (err) {
      throw new UnusableGeneration(generation, chainUnreadable(err), err);
    }
    // The hash: chunks all of data on every core (parallel-digests.ts), the
    // others here, their holes as zeros without touching them.
    const data = dataRuns(fd, 0, chain.size);
    const cs = digests.chunkSize;
    const full: number[] = [];
    const cursor = new RunCursor(data);
    for (let index = 0; index * cs < chain.size; index++) {
      const a = index * cs;
      const b = Math.min(a + cs, chain.size);
      const inChunk = cursor.within(a, b);
      if (inChunk.length === 1 && inChunk[0]![0] === a && inChunk[0]![1] === b) {
        full.push(index);
        continue;
      }
      digests.setRange(a, b, inChunk.length > 0 ? windows.get(a, b) : new Uint8Array(0), inChunk, a);
    }
    const hashed = await digestChunks(windows, full, cs, chain.size);
    for (let i = 0; i < full.length; i++) digests.setDigest(full[i]!, hashed.digests[i]!, hashed.highs[i]!);
  } finally {
    mapping.close();
  }
}

/** The chain's base (full) image into `fd`, through `windows` when given; a read failure makes `generation` unusable, a write failure is the store's I/O error. */
async function copyInto(generation: Generation, chain: ChainImage, fd: number, size: number, windows?: MappingWindows): Promise<void> {
  try {
    await copyIntoMemoryFile(chain.baseFd, fd, Math.min(chain.baseSize, chain.size), size, undefined, windows);
  } catch (err) {
    if (err instanceof CopyError && err.side === 'read') throw new UnusableGeneration(generation, chainUnreadable(err.cause), err.cause);
    if (err instanceof CopyError) throw storeIoError('write the restored memory file from', chain.chain[0]!.imagePath, err.cause);
    throw err;
  }
}
