// Verifying a generation: its image is untrusted bytes on disk. Every
// problem becomes a one-line reason; nothing here throws for bad input.
import fs from 'node:fs';
import { basename } from 'node:path';
import { CHECKSUM_ALGORITHM, FormatError, HEADER_SIZE, checkRecordSet, readHeader, validSlots } from '../format/index.js';
import { checksumOfFile } from './checksum-file.js';
import { errorCode } from './errors.js';
import { manifestDisagreement } from './image-facts.js';
import { readFullyWith, realStoreFs, type StoreFs } from './fs.js';
import type { Generation, Manifest, Verdict } from './types.js';

const bad = (reason: string): Verdict => ({ ok: false, reason });

/**
 * Checks one generation: the image exists and has the manifest's size, its
 * layout is valid and agrees with the manifest (record count, latest record,
 * write_offset, every record within bounds), and its checksum matches.
 */
export async function verifyGeneration(generation: Generation, sfs: StoreFs = realStoreFs): Promise<Verdict> {
  const { manifest, imagePath } = generation;
  const name = basename(imagePath);
  let fd: number;
  try {
    fd = await sfs.open(imagePath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') return bad(`image ${name} is missing`);
    return bad(`image ${name} cannot be opened (${code ?? String(err)})`);
  }
  try {
    const stat = await sfs.fstat(fd);
    if (!stat.isFile()) return bad(`image ${name} is not a regular file`);
    if (stat.size !== manifest.imageSize) {
      return bad(`image ${name} has ${stat.size} bytes but its manifest says ${manifest.imageSize} (truncated or replaced)`);
    }
    if (manifest.checksum.algorithm !== CHECKSUM_ALGORITHM) {
      return bad(`unknown checksum algorithm ${JSON.stringify(manifest.checksum.algorithm)} (this version uses ${CHECKSUM_ALGORITHM})`);
    }
    // The layout first: it reads a few pages, the checksum reads everything.
    const layoutProblem = await checkImageLayout(sfs, fd, stat.size, manifest);
    if (layoutProblem !== null) return bad(layoutProblem);
    const actual = await checksumOfFile(fd, stat.size, sfs);
    if (actual !== manifest.checksum.value) {
      return bad(`checksum mismatch: image ${name} changed after it was written (manifest ${manifest.checksum.value}, image ${actual})`);
    }
    return { ok: true };
  } catch (err) {
    return bad(`image ${name} cannot be read (${errorCode(err) ?? (err instanceof Error ? err.message : String(err))})`);
  } finally {
    await sfs.close(fd).catch(() => {});
  }
}

/** What is wrong with the image's layout, or null. Reads with pread only: an unreadable page is an error, never a fault. */
async function checkImageLayout(sfs: StoreFs, fd: number, size: number, manifest: Manifest): Promise<string | null> {
  if (size < HEADER_SIZE) {
    if (manifest.configured) return `invalid layout: the image has ${size} bytes, less than the ${HEADER_SIZE}-byte header page`;
    return null; // a raw image of a file too small to configure: nothing more to check
  }
  try {
    const header = readHeader(await readPrefix(sfs, fd, HEADER_SIZE), size);
    if (!header.configured) return manifestDisagreement({ configured: false }, manifest);
    // A manifest that says raw disagrees before any record is read. Else the
    // header and the entry ring: all that the slot functions read.
    const records = manifest.configured
      ? checkRecordSet(header.layout, validSlots(await readPrefix(sfs, fd, header.layout.dataBase), header.layout))
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
async function readPrefix(sfs: StoreFs, fd: number, length: number): Promise<Uint8Array> {
  if (length > MAX_PREFIX_BYTES) {
    throw new FormatError('RINGS_DO_NOT_FIT', `the image's header and entry ring take ${length} bytes, more than verify reads into memory (4 GiB)`);
  }
  const bytes = new Uint8Array(new ArrayBuffer(length));
  await readFullyWith(sfs, fd, bytes, 0, length, 0);
  return bytes;
}
