// Reading an export file in one pass from any stream (a file or stdin):
// header, manifest, image, trailer, each checked as it arrives. The image
// bytes go to the caller chunk by chunk; nothing is trusted before the
// trailer's SHA-256 has matched.
import type { Readable } from 'node:stream';
import { BLOCK_CHECKSUM_ALGORITHM, CHECKSUM_ALGORITHM, CHUNK_SIZE, ChunkDigests, IMAGE_CHECKSUM_ALGORITHM, chunkSizeOf } from '../format/index.js';
import type { Manifest } from './types.js';
import {
  EXPORT_HEADER_SIZE, ExportFormatError, TRAILER_SIZE, exportedImageMismatch, checkTrailer, decodeExportHeader, exportHash, parseEmbeddedManifest,
  type ExportHeader,
} from './export-format.js';

/** What a complete, intact export holds. */
export interface ExportContents {
  readonly header: ExportHeader;
  readonly manifest: Manifest;
  /** The image's checksum as read (in the manifest's algorithm): the manifest's, unless options.ignoreChecksum let another through. */
  readonly checksum: string;
}

/** Exact-size reads over a stream's chunks. */
class ByteReader {
  readonly #chunks: AsyncIterator<Buffer | string>;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #ended = false;

  constructor(input: Readable) {
    this.#chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  }

  /** The next `n` bytes, or fewer when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.#bufferedBytes < n && !this.#ended) {
      const next = await this.#chunks.next();
      if (next.done) {
        this.#ended = true;
        break;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      if (chunk.length === 0) continue;
      this.#buffered.push(chunk);
      this.#bufferedBytes += chunk.length;
    }
    const all = this.#buffered.length === 1 ? this.#buffered[0]! : Buffer.concat(this.#buffered);
    const take = Math.min(n, all.length);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.#buffered = rest.length > 0 ? [rest] : [];
    this.#bufferedBytes = rest.length;
    return out;
  }

  /** Reads exactly `n` bytes or throws: the export ended early. */
  async exactly(n: number, what: string): Promise<Buffer> {
    const bytes = await this.read(n);
    if (bytes.length < n) throw new ExportFormatError(`the export is truncated: it ends inside its ${what}`);
    return bytes;
  }

  /** True when nothing follows. */
  async atEnd(): Promise<boolean> {
    return (await this.read(1)).length === 0;
  }

  /** Stops reading the stream (so a file stream closes its descriptor). */
  async stop(): Promise<void> {
    await this.#chunks.return?.();
  }
}

/**
 * Reads the export on `input`, handing each image chunk (up to 1 MiB, at
 * its image position) to `onImage`. Resolves once the whole export was read
 * and its trailer, the image checksum and the manifest agree; throws
 * ExportFormatError otherwise (after onImage may have seen bytes). With
 * `ignoreChecksum` (a salvaged export) an image checksum that is not the
 * manifest's is returned rather than refused; the trailer's SHA-256 still
 * must match.
 */
export async function readExport(
  input: Readable,
  onImage: (chunk: Uint8Array, position: number) => Promise<void> | void,
  onHeader?: (header: ExportHeader, manifest: Manifest) => void,
  options: { ignoreChecksum?: boolean } = {},
): Promise<ExportContents> {
  const reader = new ByteReader(input);
  try {
    const hash = exportHash();
    const headerBytes = await reader.read(EXPORT_HEADER_SIZE);
    const header = decodeExportHeader(headerBytes);
    hash.update(headerBytes);
    const manifestBytes = await reader.exactly(header.manifestLength, 'manifest');
    hash.update(manifestBytes);
    const manifest = parseEmbeddedManifest(manifestBytes);
    if (manifest.imageSize !== header.imageLength) {
      throw new ExportFormatError(`the export is damaged: its manifest says ${manifest.imageSize} image bytes, its header ${header.imageLength}`);
    }
    const chunkSize = chunkSizeOf(manifest.checksum.algorithm);
    if (chunkSize === null) {
      throw new ExportFormatError(`the export's image checksum uses ${JSON.stringify(manifest.checksum.algorithm)}, which this shm-host does not know (it reads ${IMAGE_CHECKSUM_ALGORITHM}, ${BLOCK_CHECKSUM_ALGORITHM} and ${CHECKSUM_ALGORITHM}): use a matching shm-host`);
    }
    if (manifest.kind !== 'full') throw new ExportFormatError('the export holds a delta, not a whole image: it is damaged or was not written as an export');
    onHeader?.(header, manifest);
    const digests = new ChunkDigests(header.imageLength, chunkSize);
    for (let position = 0; position < header.imageLength; position += CHUNK_SIZE) {
      const chunk = await reader.exactly(Math.min(CHUNK_SIZE, header.imageLength - position), 'image');
      hash.update(chunk);
      digests.setRange(position, position + chunk.length, chunk, [[position, position + chunk.length]], position);
      await onImage(chunk, position);
    }
    checkTrailer(await reader.exactly(TRAILER_SIZE, 'trailer'), hash.digest());
    if (!(await reader.atEnd())) throw new ExportFormatError('the export has bytes after its trailer (two exports concatenated?)');
    const checksum = digests.value();
    if (checksum !== manifest.checksum.value && options.ignoreChecksum !== true) {
      throw new ExportFormatError(exportedImageMismatch(manifest.checksum.value), { imageMismatch: true });
    }
    return { header, manifest, checksum };
  } finally {
    await reader.stop();
  }
}
