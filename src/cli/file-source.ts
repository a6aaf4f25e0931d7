// Files a <ref> names by path that are not a generation of a store: an
// export read in place, and a delta generation's data file given alone,
// which cannot be read without its chain (docs/FORMAT.md section 9).
import fs from 'node:fs';
import { basename } from 'node:path';
import { EXPORT_HEADER_SIZE, ExportFormatError, ImageFile, decodeExportHeader, exportFileSize, parseEmbeddedManifest, parseGenerationFileName } from '../store/index.js';
import { CommandFailure } from './errors.js';
import type { Source } from './source.js';

/** The command line that runs this command on `ref` instead of on a file (`shm-host show 3 --dir DIR`, with --dir given to it). */
export type CommandFor = (ref: string) => string;

/**
 * The refusal of `path`, a delta generation's `.delta` file given alone (or
 * without its manifest beside it): it holds only the blocks that changed
 * since its parent, so it is read through its generation in its snapshot
 * directory; the hint says how, as `command` runs it (with the sequence
 * its name gives, if it has the name a store gives it).
 */
export function loneDelta(path: string, command: CommandFor): CommandFailure {
  const sequence = namedSequence(path, 'delta');
  return new CommandFailure(
    'BAD_MAGIC',
    `${path} is a delta generation's data file (magic SHMDELTA), not an image: it holds only the blocks that changed since its parent, and is read through its chain`,
    `name its generation in the snapshot directory it belongs to, beside its manifest and the generations it depends on: ${command(sequence)} --dir <its snapshot directory>`,
  );
}

/**
 * The sequence a hint gives for `path`, a generation's data file of `kind`
 * (`image`: gen-N.img, `delta`: gen-N.delta): the one its name gives when
 * it is named as a snapshot directory names such a file, else `<sequence>`.
 */
export function namedSequence(path: string, kind: 'image' | 'delta'): string {
  const named = parseGenerationFileName(basename(path));
  return named?.kind === kind ? String(named.sequence) : '<sequence>';
}

export async function readStart(path: string, length: number): Promise<Uint8Array> {
  const handle = await fs.promises.open(path, 'r');
  try {
    const buf = new Uint8Array(length);
    const { bytesRead } = await handle.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** An export file read in place: its manifest, and its image as a slice of the file. */
export async function exportSource(path: string, head: Uint8Array, fileSize: number): Promise<Source> {
  const header = decodeExportHeader(head);
  if (exportFileSize(header) !== fileSize) {
    throw new ExportFormatError(`the export ${path} has ${fileSize} bytes but its header describes ${exportFileSize(header)} (truncated or extended)`);
  }
  const manifestBytes = (await readStart(path, EXPORT_HEADER_SIZE + header.manifestLength)).subarray(EXPORT_HEADER_SIZE);
  const manifest = parseEmbeddedManifest(manifestBytes);
  if (manifest.imageSize !== header.imageLength) {
    throw new ExportFormatError(`the export ${path} is damaged: its manifest says ${manifest.imageSize} image bytes, its header ${header.imageLength}`);
  }
  const slice = { offset: EXPORT_HEADER_SIZE + header.manifestLength, length: header.imageLength };
  return {
    kind: 'export',
    label: `export ${path}`,
    path,
    generation: null,
    manifest,
    store: null,
    relative: false,
    openImage: () => ImageFile.open(path, slice),
    close: async () => {},
  };
}
