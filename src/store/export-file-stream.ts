// Reading an export file from disk for import: the chunks readExport takes,
// aligned with the image's 1 MiB chunks, and the holes of a sparse export
// (export writes zero chunks as holes) handed over as zeros without a read,
// so importing a 5 GiB image that holds a few MiB reads a few MiB.
import { Readable } from 'node:stream';
import { CHUNK_SIZE } from '../format/index.js';
import { dataRuns } from '../sys/index.js';
import { EXPORT_HEADER_SIZE, decodeExportHeader } from './export-format.js';
import { readFullyWith, realStoreFs, type StoreFs } from './fs.js';

/**
 * The export file open on `fd` (of `size` bytes) as a stream for
 * readExport(): the header and manifest first, then the image a chunk at a
 * time, then the trailer. A header that does not decode is passed on as it
 * is (readExport reports it), read in 1 MiB steps.
 */
export function exportFileStream(fd: number, size: number, sfs: StoreFs = realStoreFs): Readable {
  return Readable.from(exportFileChunks(fd, size, sfs), { objectMode: false });
}

async function* exportFileChunks(fd: number, size: number, sfs: StoreFs): AsyncGenerator<Buffer> {
  const read = async (position: number, length: number): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(length);
    await readFullyWith(sfs, fd, buf, 0, length, position);
    return buf;
  };
  let imageStart = 0;
  try {
    const head = await read(0, Math.min(EXPORT_HEADER_SIZE, size));
    imageStart = EXPORT_HEADER_SIZE + decodeExportHeader(head).manifestLength;
  } catch {
    imageStart = 0; // not an export: readExport says what is wrong
  }
  if (imageStart > size) imageStart = 0;
  if (imageStart > 0) yield await read(0, imageStart);
  const zeros = Buffer.alloc(CHUNK_SIZE);
  for (let at = imageStart; at < size; at += CHUNK_SIZE) {
    const length = Math.min(CHUNK_SIZE, size - at);
    // Zeros shared between chunks: readExport and import only read them.
    yield dataRuns(fd, at, at + length).length === 0 ? zeros.subarray(0, length) : await read(at, length);
  }
}
