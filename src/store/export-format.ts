// The export file: one portable file holding a generation's image and its
// manifest, checksummed as a whole (docs/CLI.md, "Export file format").
//
//   offset  size  field
//   0       8     magic "SHMHEXP\n"
//   8       4     u32 version = 1
//   12      4     u32 header size = 48
//   16      8     u64 manifest length M (1 .. 65536)
//   24      8     u64 image length I
//   32      16    reserved, zero
//   48      M     the manifest, UTF-8 JSON, as the store wrote it
//   48+M    I     the image, byte for byte
//   48+M+I  8     trailer magic "SHMHEND\n"
//   56+M+I  32    SHA-256 of every byte before the trailer
//
// All integers little-endian. The lengths come first so the file can be
// written to and read from a pipe in one pass; the checksum comes last for
// the same reason, and covers the header too, so a flipped length is caught.
// `head -c -40 FILE | sha256sum` recomputes it with common tools.
import type { Hash } from 'node:crypto';
import { ShmHostError } from '../errors.js';
import { looksLikeDelta, looksLikeImage } from './file-kind.js';
import { parseManifest } from './manifest.js';
import type { Manifest } from './types.js';

export const EXPORT_MAGIC = Buffer.from('SHMHEXP\n', 'latin1');
export const TRAILER_MAGIC = Buffer.from('SHMHEND\n', 'latin1');
export const EXPORT_VERSION = 1;
export const EXPORT_HEADER_SIZE = 48;
export const TRAILER_SIZE = 40;
export const MAX_EXPORT_MANIFEST_BYTES = 64 * 1024;
/** Largest image an export may claim (1 TiB): bounds what a hostile header can make import write. */
export const MAX_EXPORT_IMAGE_BYTES = 2 ** 40;

/** An export file's contents do not follow the format. */
export class ExportFormatError extends ShmHostError {
  declare readonly code: 'BAD_EXPORT';
  /** What the file is instead, when it is another file of shm-host's: a generation's `image` or `delta` data file; else null. */
  readonly found: 'image' | 'delta' | null;
  /** The export is whole (its SHA-256 matches) but its image is not the one its manifest describes: a damaged generation's, exported as a salvage. */
  readonly imageMismatch: boolean;
  constructor(message: string, options: { found?: 'image' | 'delta'; imageMismatch?: boolean } = {}) {
    super('BAD_EXPORT', message);
    this.name = 'ExportFormatError';
    this.found = options.found ?? null;
    this.imageMismatch = options.imageMismatch === true;
  }
}

/** An export whose image does not match its manifest's `checksum` (verify, import, show and cat say it alike). */
export const exportedImageMismatch = (checksum: string): string =>
  `the exported image does not match its manifest's checksum (${checksum}): it was damaged before it was exported`;

export interface ExportHeader {
  readonly manifestLength: number;
  readonly imageLength: number;
}

/** The 48 header bytes for a manifest and image of these lengths. */
export function encodeExportHeader(header: ExportHeader): Uint8Array {
  const out = Buffer.alloc(EXPORT_HEADER_SIZE);
  EXPORT_MAGIC.copy(out, 0);
  out.writeUInt32LE(EXPORT_VERSION, 8);
  out.writeUInt32LE(EXPORT_HEADER_SIZE, 12);
  out.writeBigUInt64LE(BigInt(header.manifestLength), 16);
  out.writeBigUInt64LE(BigInt(header.imageLength), 24);
  return out;
}

/** True when `bytes` start like an export file (used to tell one from a bare image). */
export function looksLikeExport(bytes: Uint8Array): boolean {
  return bytes.length >= EXPORT_MAGIC.length && Buffer.from(bytes.buffer, bytes.byteOffset, EXPORT_MAGIC.length).equals(EXPORT_MAGIC);
}

/** Parses and checks the 48 header bytes; throws ExportFormatError naming the first problem. */
export function decodeExportHeader(bytes: Uint8Array): ExportHeader {
  if (bytes.length === 0) throw new ExportFormatError('not a shm-host export: it is empty');
  if (bytes.length < EXPORT_HEADER_SIZE) throw new ExportFormatError(`not a shm-host export: it has ${bytes.length} bytes, less than the ${EXPORT_HEADER_SIZE}-byte header`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, EXPORT_HEADER_SIZE);
  if (!looksLikeExport(b)) {
    if (looksLikeDelta(b)) throw new ExportFormatError("not a shm-host export but a delta generation's data file (magic SHMDELTA), which holds only the blocks changed since its parent", { found: 'delta' });
    if (looksLikeImage(b)) throw new ExportFormatError('not a shm-host export but a snapshot image, which has no manifest', { found: 'image' });
    throw new ExportFormatError('not a shm-host export: the file does not start with the export magic');
  }
  const version = b.readUInt32LE(8);
  if (version !== EXPORT_VERSION) throw new ExportFormatError(`unsupported export version ${version} (this shm-host reads version ${EXPORT_VERSION}): use a matching shm-host`);
  const headerSize = b.readUInt32LE(12);
  if (headerSize !== EXPORT_HEADER_SIZE) throw new ExportFormatError(`bad export header size ${headerSize} (expected ${EXPORT_HEADER_SIZE})`);
  const manifestLength = b.readBigUInt64LE(16);
  const imageLength = b.readBigUInt64LE(24);
  if (manifestLength < 1n || manifestLength > BigInt(MAX_EXPORT_MANIFEST_BYTES)) {
    throw new ExportFormatError(`bad export header: a manifest of ${manifestLength} bytes (at most ${MAX_EXPORT_MANIFEST_BYTES})`);
  }
  if (imageLength > BigInt(MAX_EXPORT_IMAGE_BYTES)) throw new ExportFormatError(`bad export header: an image of ${imageLength} bytes (at most 1 TiB)`);
  for (let i = 32; i < EXPORT_HEADER_SIZE; i++) if (b[i] !== 0) throw new ExportFormatError('bad export header: its reserved bytes are not zero');
  return { manifestLength: Number(manifestLength), imageLength: Number(imageLength) };
}

/** Total file size of an export with this header. */
export function exportFileSize(header: ExportHeader): number {
  return EXPORT_HEADER_SIZE + header.manifestLength + header.imageLength + TRAILER_SIZE;
}

/** The checksum of an export, fed every byte before the trailer in order. */
export function exportHash(): Hash {
  // node:crypto loads at the first export, not with the store (see DurableFile.create).
  return process.getBuiltinModule('node:crypto').createHash('sha256');
}

/** The 40 trailer bytes for a finished hash. */
export function encodeTrailer(digest: Uint8Array): Uint8Array {
  return Buffer.concat([TRAILER_MAGIC, digest]);
}

/** Checks a trailer against the digest of what came before it; throws ExportFormatError. */
export function checkTrailer(trailer: Uint8Array, digest: Uint8Array): void {
  const t = Buffer.from(trailer.buffer, trailer.byteOffset, trailer.length);
  if (t.length !== TRAILER_SIZE || !t.subarray(0, 8).equals(TRAILER_MAGIC)) {
    throw new ExportFormatError('the export is truncated or damaged: its trailer is missing');
  }
  if (!t.subarray(8).equals(Buffer.from(digest))) {
    throw new ExportFormatError('the export is damaged: its SHA-256 does not match its contents');
  }
}

/**
 * The manifest carried in an export, checked like a manifest in a store
 * (the sequence it names is its own: the export has no file name).
 */
export function parseEmbeddedManifest(bytes: Uint8Array): Manifest {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  let sequence: unknown;
  try {
    sequence = (JSON.parse(text) as { sequence?: unknown } | null)?.sequence;
  } catch {
    throw new ExportFormatError('the export is damaged: its manifest is not valid JSON');
  }
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) {
    throw new ExportFormatError('the export is damaged: its manifest has no valid sequence number');
  }
  try {
    return parseManifest(text, sequence);
  } catch (err) {
    throw new ExportFormatError(`the export is damaged: ${(err as Error).message}`);
  }
}
