// Export and import of one generation as an export file (export-format.ts):
// what `shm-host export` and `shm-host import` do, apart from choosing the
// streams and printing.
import type { Readable } from 'node:stream';
import { CHUNK_SIZE, ChunkDigests, FormatError, chunkSizeOf } from '../format/index.js';
import { StoreError } from './errors.js';
import {
  MAX_EXPORT_IMAGE_BYTES, encodeExportHeader, encodeTrailer, exportFileSize, exportHash, ExportFormatError, type ExportHeader,
} from './export-format.js';
import { readExport } from './export-reader.js';
import { fieldsOfImage, imageDisagreement } from './image-facts.js';
import { ImageFile, type ImageInfo } from './image-file.js';
import { asFullManifest, serializeManifest } from './manifest.js';
import type { Generation, Manifest, PendingImage, SnapshotStoreApi } from './types.js';

/**
 * Writes the export of the image `image` with its `manifest` to `write`,
 * chunk by chunk (`onChunk` is told each image chunk's length). The image
 * is checked against the manifest's checksum as it is read; on a mismatch
 * this throws StoreError CORRUPT before the trailer, so what was written
 * is rejected by any reader as truncated. With `ignoreChecksum` (a salvage)
 * the trailer is written anyway: the export carries the manifest's checksum
 * unchanged, so every reader finds its image damaged. An image larger than an export
 * may hold (1 TiB: a child may grow its file past it) is an
 * ExportFormatError before anything is written. Resolves to the export's SHA-256
 * (hex), its size in bytes, and the image's checksum as computed (in the manifest's algorithm).
 */
export async function writeExport(
  image: ImageFile, manifest: Manifest, write: (chunk: Uint8Array) => Promise<void>, onChunk?: (bytes: number) => void, options: { ignoreChecksum?: boolean } = {},
): Promise<{ sha256: string; bytes: number; checksum: string }> {
  if (image.size > MAX_EXPORT_IMAGE_BYTES) {
    throw new ExportFormatError(`the image has ${image.size} bytes, more than an export holds (1 TiB)`);
  }
  // Always a self-contained full image: an export of a delta carries the whole image it stands for.
  const manifestBytes = Buffer.from(serializeManifest(manifest.kind === 'delta' ? asFullManifest(manifest) : manifest), 'utf8');
  const hash = exportHash();
  const header = encodeExportHeader({ manifestLength: manifestBytes.length, imageLength: image.size });
  for (const part of [header, manifestBytes]) {
    hash.update(part);
    await write(part);
  }
  const digests = new ChunkDigests(image.size, chunkSizeOf(manifest.checksum.algorithm) ?? CHUNK_SIZE);
  let position = 0;
  for await (const chunk of image.chunks(0, image.size, CHUNK_SIZE)) {
    hash.update(chunk);
    digests.setRange(position, position + chunk.length, chunk, [[position, position + chunk.length]], position);
    position += chunk.length;
    await write(chunk);
    onChunk?.(chunk.length);
  }
  const checksum = digests.value();
  if (checksum !== manifest.checksum.value && options.ignoreChecksum !== true) {
    throw new StoreError('CORRUPT', `image ${image.path} does not match its checksum`, { path: image.path, hint: 'export an older generation' });
  }
  const digest = hash.digest();
  await write(encodeTrailer(digest));
  return { sha256: digest.toString('hex'), bytes: exportFileSize({ manifestLength: manifestBytes.length, imageLength: image.size }), checksum };
}

const ZEROS = Buffer.alloc(CHUNK_SIZE);
const isZero = (chunk: Uint8Array): boolean => ZEROS.subarray(0, chunk.length).equals(chunk);

/** What an import is told as it goes: the export's header once read, then each image chunk's length. */
export interface ImportProgress {
  onHeader?(header: ExportHeader): void;
  onChunk?(bytes: number): void;
}

/**
 * Reads the export on `input`, checks it whole (trailer, checksum, the
 * image's layout against its manifest) and commits it to `store` as the
 * newest generation (reason `import`). A damaged or incomplete export
 * throws ExportFormatError and leaves nothing behind. Resolves to the new
 * generation, the manifest the export carried, and `salvaged`: null, or
 * with `ignoreChecksum` why the image is not the one that manifest
 * describes (a salvaged export: its SHA-256 and layout hold, its image
 * checksum or facts do not); the generation then carries the image's own
 * checksum and facts, as any capture of those bytes would.
 */
export async function importExport(
  store: SnapshotStoreApi, input: Readable, progress: ImportProgress = {}, options: { ignoreChecksum?: boolean } = {},
): Promise<{ generation: Generation; from: Manifest; salvaged: string | null }> {
  const pending = await store.createImage();
  try {
    const { manifest: from, checksum } = await receive(pending, input, progress, options.ignoreChecksum === true);
    return { ...(await checkAndCommit(pending, from, checksum, options.ignoreChecksum === true)), from };
  } catch (err) {
    await pending.abort();
    throw err;
  }
}

/** Streams the export on `input` into the pending image, checked on the way (see readExport). */
async function receive(pending: PendingImage, input: Readable, progress: ImportProgress, ignoreChecksum: boolean): Promise<{ manifest: Manifest; checksum: string }> {
  const contents = await readExport(
    input,
    async (chunk, position) => {
      // All-zero chunks stay holes: a mostly empty 1 GiB image costs little disk.
      if (!isZero(chunk)) await pending.write(chunk, 0, chunk.length, position);
      progress.onChunk?.(chunk.length);
    },
    (header) => progress.onHeader?.(header),
    { ignoreChecksum },
  );
  await pending.truncate(contents.header.imageLength);
  return contents;
}

/** Checks the image written to `pending` (whose checksum is `checksum`) against its manifest, then commits it (reason `import`). */
async function checkAndCommit(pending: PendingImage, manifest: Manifest, checksum: string, ignoreChecksum: boolean): Promise<{ generation: Generation; salvaged: string | null }> {
  const image = await ImageFile.open(pending.path);
  let info: ImageInfo;
  try {
    info = await image.inspect({ raw: !manifest.configured });
  } catch (err) {
    if (err instanceof FormatError) throw new ExportFormatError(`the exported image is damaged: ${err.message}`);
    throw err;
  } finally {
    await image.close();
  }
  const mismatch = checksum === manifest.checksum.value ? null : `its image's checksum is ${checksum}, its manifest's ${manifest.checksum.value}`;
  const problem = imageDisagreement(info, manifest) ?? mismatch;
  if (problem !== null && !ignoreChecksum) throw new ExportFormatError(`the export is damaged: ${problem}`, { imageMismatch: true });
  // The salvage is recorded (or, for an export of a generation salvaged before, kept): its checksum now is the bytes' own.
  const salvaged = problem === null ? manifest.salvaged ?? null : { sequence: manifest.sequence, checksum: manifest.checksum.value, problem };
  const fields = { reason: 'import' as const, checksum: { algorithm: manifest.checksum.algorithm, value: checksum }, ...fieldsOfImage(info), salvaged };
  return { generation: await pending.commit(fields), salvaged: problem };
}
