// Verifying a generation: its image is untrusted bytes on disk. Every
// problem becomes a one-line reason; nothing here throws for bad input.
import fs from 'node:fs';
import { basename, dirname } from 'node:path';
import { ChunkDigests, FormatError, HEADER_SIZE, checkRecordSet, chunkSizeOf, readHeader, validSlots } from '../format/index.js';
import { ChainImage, resolveChain } from './chain.js';
import { checksumOfFile, digestImage, type ReadAt } from './checksum-file.js';
import { checksumMismatch, chainUnreadable, imageSizeMismatch, imageUnopenable, imageUnreadable, unknownAlgorithm } from './unusable.js';
import { manifestDisagreement } from './image-facts.js';
import { readFullyWith, realStoreFs, type StoreFs } from './fs.js';
import type { Generation, Manifest, Verdict, VerifyOptions } from './types.js';

const bad = (reason: string): Verdict => ({ ok: false, reason });

/**
 * Checks one generation: the image exists and has the manifest's size, its
 * layout is valid and agrees with the manifest (record count, latest record,
 * write_offset, every record within bounds), and its checksum matches
 * (unless options.imageChecksum is false).
 */
export async function verifyGeneration(generation: Generation, sfs: StoreFs = realStoreFs, options: VerifyOptions = {}): Promise<Verdict> {
  const imageChecksum = options.imageChecksum ?? true;
  if (generation.manifest.kind === 'delta') return verifyDelta(generation, sfs, imageChecksum);
  const { manifest, imagePath } = generation;
  const name = basename(imagePath);
  let fd: number;
  try {
    fd = await sfs.open(imagePath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    return bad(imageUnopenable(imagePath, err));
  }
  try {
    const stat = await sfs.fstat(fd);
    if (!stat.isFile()) return bad(`image ${name} is not a regular file`);
    if (stat.size !== manifest.imageSize) {
      return bad(imageSizeMismatch(imagePath, stat.size, manifest.imageSize));
    }
    const chunkSize = chunkSizeOf(manifest.checksum.algorithm);
    if (chunkSize === null) return bad(unknownAlgorithm(manifest));
    // The layout first: it reads a few pages, the checksum reads everything.
    const layoutProblem = await checkImageLayout((buf, o, l, p) => readFullyWith(sfs, fd, buf, o, l, p), stat.size, manifest);
    if (layoutProblem !== null) return bad(layoutProblem);
    if (!imageChecksum) return { ok: true };
    const actual = await checksumOfFile(fd, stat.size, sfs, chunkSize);
    if (actual !== manifest.checksum.value) return bad(checksumMismatch(generation, actual, generation.sequence));
    return { ok: true };
  } catch (err) {
    return bad(imageUnreadable(imagePath, err));
  } finally {
    await sfs.close(fd).catch(() => {});
  }
}

/**
 * Checks a delta: every link of its chain (each file present, each delta's
 * header, index and file checksum), then the whole image the chain
 * composes: its layout against the manifest, and (with `imageChecksum`)
 * its checksum.
 */
async function verifyDelta(generation: Generation, sfs: StoreFs, imageChecksum: boolean): Promise<Verdict> {
  const { manifest } = generation;
  const chunkSize = chunkSizeOf(manifest.checksum.algorithm);
  if (chunkSize === null) return bad(unknownAlgorithm(manifest));
  const chain = await resolveChain(sfs, dirname(generation.manifestPath), generation);
  if (typeof chain === 'string') return bad(chain);
  const image = await ChainImage.open(sfs, chain, true);
  if (typeof image === 'string') return bad(image);
  try {
    const read: ReadAt = (buf, o, l, p) => image.read(buf, o, l, p);
    const layoutProblem = await checkImageLayout(read, image.size, manifest);
    if (layoutProblem !== null) return bad(layoutProblem);
    if (!imageChecksum) return { ok: true };
    const digests = new ChunkDigests(image.size, chunkSize);
    await digestImage(read, digests);
    const actual = digests.value();
    if (actual !== manifest.checksum.value) return bad(checksumMismatch(generation, actual, chain[chain.length - 1]!.sequence));
    return { ok: true };
  } catch (err) {
    return bad(chainUnreadable(err));
  } finally {
    await image.close();
  }
}

/** What is wrong with the image's layout, or null. Reads with pread only: an unreadable page is an error, never a fault. */
async function checkImageLayout(read: ReadAt, size: number, manifest: Manifest): Promise<string | null> {
  if (size < HEADER_SIZE) {
    if (manifest.configured) return `invalid layout: the image has ${size} bytes, less than the ${HEADER_SIZE}-byte header page`;
    return null; // a raw image of a file too small to configure: nothing more to check
  }
  try {
    const header = readHeader(await readPrefix(read, HEADER_SIZE), size);
    if (!header.configured) return manifestDisagreement({ configured: false }, manifest);
    // A manifest that says raw disagrees before any record is read. Else the
    // header and the entry ring: all that the slot functions read.
    const records = manifest.configured
      ? checkRecordSet(header.layout, validSlots(await readPrefix(read, header.layout.dataBase), header.layout))
      : [];
    return manifestDisagreement({ configured: true, records, writeOffset: header.writeOffset }, manifest);
  } catch (err) {
    if (err instanceof FormatError) return err.message;
    throw err;
  }
}

/** The most header and entry ring verify reads into memory (as ImageFile.inspect). */
const MAX_PREFIX_BYTES = 2 ** 32 - 1;

/** The first `length` bytes of the file, 8-aligned for the atomic word access the format uses. */
async function readPrefix(read: ReadAt, length: number): Promise<Uint8Array> {
  if (length > MAX_PREFIX_BYTES) {
    throw new FormatError('RINGS_DO_NOT_FIT', `the image's header and entry ring take ${length} bytes, more than verify reads into memory (4 GiB)`);
  }
  const bytes = new Uint8Array(new ArrayBuffer(length));
  await read(bytes, 0, length, 0);
  return bytes;
}
