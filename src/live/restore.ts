// Restoring a generation into a memory file.
import fs from 'node:fs';
import { basename } from 'node:path';
import { CHECKSUM_ALGORITHM, ChunkDigests, HEADER_SIZE } from '../format/index.js';
import { StoreError, storeIoError, type Generation } from '../store/index.js';
import { close, fstat, open } from '../sys/index.js';
import { copyIntoMemoryFile } from './into-memory-file.js';
import { publishDurable } from './publish-durable.js';
import { CopyError } from './sparse-copy.js';

/**
 * Copies a verified generation's image into the memory file `fd` (normally
 * a new one), growing it to max(minSize, image size); holes of the image
 * stay holes. The image is hashed again as it is copied: if it changed on
 * disk since it was verified, this throws StoreError CORRUPT and the caller
 * must not use the file. Afterwards the file's header says that everything
 * in it is durable (durable_offset = end of its latest record, snapshot_seq
 * = the generation), since all of it came from that generation.
 */
export async function restoreImage(generation: Generation, fd: number, minSize: number): Promise<{ size: number }> {
  const { manifest, imagePath } = generation;
  const name = basename(imagePath);
  if (manifest.checksum.algorithm !== CHECKSUM_ALGORITHM) {
    throw corrupt(generation, `its checksum algorithm ${manifest.checksum.algorithm} is unknown`);
  }
  let imageFd: number;
  try {
    imageFd = await open(imagePath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw storeIoError('open snapshot image', imagePath, err);
  }
  try {
    const imageSize = (await fstat(imageFd)).size;
    if (imageSize !== manifest.imageSize) throw corrupt(generation, `image ${name} has ${imageSize} bytes, its manifest says ${manifest.imageSize}`);
    const size = Math.max(minSize, imageSize);
    // Hashed in the memory file's pages: the checksum covers exactly what the child will see.
    const digests = new ChunkDigests(imageSize);
    try {
      await copyIntoMemoryFile(imageFd, fd, imageSize, size, digests);
    } catch (err) {
      if (err instanceof CopyError && err.side === 'read') throw storeIoError('read snapshot image', imagePath, err.cause);
      if (err instanceof CopyError) throw storeIoError('write the restored memory file from', imagePath, err.cause);
      throw err;
    }
    if (digests.value() !== manifest.checksum.value) throw corrupt(generation, `image ${name} changed on disk after it was verified`);
    if (manifest.configured && manifest.latest !== null && imageSize >= HEADER_SIZE) {
      publishDurable(fd, BigInt(manifest.latest.offset) + BigInt(manifest.latest.length), manifest.sequence);
    }
    return { size };
  } finally {
    await close(imageFd).catch(() => {});
  }
}

function corrupt(generation: Generation, what: string): StoreError {
  return new StoreError('CORRUPT', `cannot restore generation ${generation.manifest.sequence}: ${what}`, {
    path: generation.imagePath,
    hint: 'restore an older generation (newestVerified() picks the next good one)',
  });
}

