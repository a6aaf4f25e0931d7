// Turning "this snapshot is damaged" into a line that says which one, what
// is wrong, and what to use instead: a generation that verifies, named, or
// the plain fact that none older does.
import fs from 'node:fs';
import { FormatError } from '../format/index.js';
import {
  ExportFormatError, chunkSizeOf, checksumMismatch, exportedImageMismatch, readExport, imageDisagreement, unknownAlgorithm, type ImageFile, type ImageInfo, type Manifest, type SnapshotStore,
} from '../store/index.js';
import { CommandFailure } from './errors.js';
import type { Source } from './source.js';

/**
 * The fix for a damaged generation `sequence` of `store`: the newest older
 * generation that verifies (checksum, chain, layout), or that no older one
 * does. Verifies older generations, newest first, until one passes: for
 * error paths only.
 */
export async function insteadOf(store: SnapshotStore, sequence: number): Promise<string> {
  for (const listed of await store.list()) {
    if (!listed.ok || listed.sequence >= sequence) continue;
    if ((await store.verify(listed)).ok) return `use generation ${listed.sequence} instead, the newest older one that verifies`;
  }
  return 'no older generation verifies either; see shm-host verify --all';
}

/** The fix for damage to `source`: another generation of its store, or for a file, what it should be. */
async function fixFor(source: Pick<Source, 'kind' | 'store' | 'generation'>): Promise<string> {
  if (source.kind === 'generation' && source.store !== null && source.generation !== null) return insteadOf(source.store, source.generation.sequence);
  return 'check that the file is a shm-host snapshot image or export';
}

/** How a refusal of bytes that are there, only not the ones written, says that they can be had anyway (salvage.ts). */
const IGNORE = '--ignore-checksum';
export const SALVAGE_HINT = `or add ${IGNORE} to take its bytes as they are`;

/**
 * A CommandFailure CORRUPT saying `problem` of `source` (one line), with a
 * fix that holds: another generation, or the salvage option (`problem` is
 * one --ignore-checksum lets through: the image does not match its manifest).
 */
export async function damaged(source: Pick<Source, 'kind' | 'label' | 'store' | 'generation' | 'manifest'>, problem: string, cause?: unknown): Promise<CommandFailure> {
  // An export (whole: its SHA-256 matched) whose image is not its manifest's: its generation was damaged when exported, as verify says.
  const fix = source.manifest && problem === exportedImageMismatch(source.manifest.checksum.value) ? `it is the export of a damaged generation: to take its bytes as they are, add ${IGNORE}` : `${await fixFor(source)}, ${SALVAGE_HINT}`;
  return new CommandFailure('CORRUPT', `${source.label} is damaged: ${problem}`, fix, { cause });
}

/** `err` as a CommandFailure naming `source` when it is a layout problem; other errors unchanged. */
export async function describeDamage(source: Pick<Source, 'kind' | 'label' | 'store' | 'generation'>, err: unknown): Promise<unknown> {
  if (!(err instanceof FormatError)) return err;
  return new CommandFailure(err.code, `${source.label} is damaged: ${err.problem}`, await fixFor(source), { cause: err });
}

/**
 * Null when `image`, the image of `source` that inspect() gave `info` for,
 * is the one its manifest describes: its size and layout facts, then its
 * checksum, read whole from the same descriptor the command then prints
 * from (so what cat and show print is what was written, as export and
 * verify check it); else what is wrong, in verify's words. A bare image
 * has no manifest: inspect() checked its layout, all there is.
 * `linksUnchecked`: a delta's chain was opened without its files'
 * checksums (a salvage), so a mismatch is said as verify finds it, naming
 * the damaged link rather than assuming the root.
 */
export async function intactProblem(
  source: Pick<Source, 'kind' | 'label' | 'path' | 'store' | 'generation' | 'manifest'>, image: ImageFile, info: ImageInfo, linksUnchecked: boolean,
): Promise<string | null> {
  const manifest = source.manifest;
  if (manifest === null) return null;
  const chunkSize = chunkSizeOf(manifest.checksum.algorithm);
  return factsProblem(info, manifest)
    ?? (chunkSize === null ? unknownAlgorithm(manifest) : checksumProblem(source, await image.checksum(chunkSize), linksUnchecked));
}

/**
 * imageDisagreement(), except for an image a salvage inspected leaving
 * records out: its record facts then differ by construction, and the
 * checksum says better what changed.
 */
export const factsProblem = (info: ImageInfo, manifest: Manifest): string | null =>
  (info.configured && info.skipped.length > 0 ? null : imageDisagreement(info, manifest));

/** Null when `actual` is the manifest's checksum; else the mismatch, in verify's words for a generation (`linksUnchecked`: see intactProblem). */
export async function checksumProblem(source: Pick<Source, 'kind' | 'path' | 'store' | 'generation' | 'manifest'>, actual: string, linksUnchecked: boolean): Promise<string | null> {
  const { manifest, generation, store } = source;
  if (actual === manifest!.checksum.value) return null;
  if (source.kind === 'export') return exportProblem(source.path, manifest!.checksum.value);
  if (generation === null || store === null) return `checksum mismatch: the image is not the one its manifest was written for (manifest ${manifest!.checksum.value}, image ${actual})`;
  if (linksUnchecked && generation.manifest.kind === 'delta') {
    // Which link changed: verify checks each delta file's own checksum first (an error path: it reads the chain again).
    const verdict = await store.verify(generation);
    if (!verdict.ok) return verdict.reason;
  }
  // A delta's mismatch names the full generation at its chain's root (resolved again: an error path only).
  const root = generation.manifest.kind === 'delta' ? (await store.chainOf(generation)).at(-1)!.sequence : generation.sequence;
  return checksumMismatch(generation, actual, root);
}

/**
 * Why export `path`'s image fails its manifest's `checksum`, as verify says
 * it: the file changed after it was written (its SHA-256 fails), or it is
 * whole and its generation was damaged before it was exported. Reads the
 * whole export again: an error path only.
 */
async function exportProblem(path: string, checksum: string): Promise<string> {
  try {
    await readExport(fs.createReadStream(path, { highWaterMark: 1 << 20 }), () => {});
  } catch (err) {
    // Said after "export X is damaged: ": not twice.
    if (err instanceof ExportFormatError) return err.problem.replace(/^the export is damaged: /, '');
    throw err;
  }
  return exportedImageMismatch(checksum);
}
