// Why a generation cannot be used, in the same words whether verify finds
// it or a restore does (a restore checks the checksum while it copies:
// src/live/restore.ts). Each reason is one line naming the file or link.
import { basename } from 'node:path';
import { StoreError, errorCode } from './errors.js';
import type { Generation, Manifest } from './types.js';

const codeOf = (err: unknown): string => errorCode(err) ?? (err instanceof Error ? err.message : String(err));

/**
 * A data file of a chain as a reader names it: the generation's own file
 * by name; a link it depends on with that link's sequence too.
 */
export const linkName = (link: Generation, of: Generation): string =>
  (link === of ? basename(link.imagePath) : `${basename(link.imagePath)} (generation ${link.sequence}, which it depends on)`);

/** File `what` (a name as linkName() gives it, or "image NAME") cannot be opened (`err`, from open(2) or stat(2)). */
export const fileUnopenable = (what: string, err: unknown): string =>
  (errorCode(err) === 'ENOENT' ? `${what} is missing` : `${what} cannot be opened (${codeOf(err)})`);

/** File `what` has `size` bytes where its manifest says `expected`. */
export const fileSizeMismatch = (what: string, size: number, expected: number): string =>
  `${what} has ${size} bytes but its manifest says ${expected} (truncated or replaced)`;

/** A delta file has `size` bytes where its manifest's block counts imply `expected` (said after "X is damaged: "). */
export const deltaSizeMismatch = (size: number, expected: number): string => `it has ${size} bytes, its manifest implies ${expected} (truncated or replaced)`;

/**
 * A delta file's header page has byte `at` (of the reserved bytes 48..4096,
 * which are zeros: docs/FORMAT.md, section 9) set to `value` (said after
 * "X is damaged: ").
 */
export const deltaReservedNotZero = (at: number, value: number): string =>
  `byte ${at} of its header page is 0x${value.toString(16).padStart(2, '0')} where the format reserves zeros (bytes 48..4096): the header changed after it was written`;

/** The image file of a full generation cannot be opened (`err`, from open(2)). */
export const imageUnopenable = (imagePath: string, err: unknown): string => fileUnopenable(`image ${basename(imagePath)}`, err);

/** The image file has `size` bytes where its manifest says `imageSize`. */
export const imageSizeMismatch = (imagePath: string, size: number, imageSize: number): string =>
  fileSizeMismatch(`image ${basename(imagePath)}`, size, imageSize);

/** Reading the image of a full generation failed. */
export const imageUnreadable = (imagePath: string, err: unknown): string => `image ${basename(imagePath)} cannot be read (${codeOf(err)})`;

/** Reading through a delta's chain failed. */
export const chainUnreadable = (err: unknown): string => `its chain cannot be read (${codeOf(err)})`;

/** A checksum this version does not know. */
export const unknownAlgorithm = (m: Manifest): string =>
  `unknown checksum algorithm ${JSON.stringify(m.checksum.algorithm)} (this version reads xxh3-64/chunks-64KiB, xxh3-64/chunks-4KiB and xxh3-64/chunks-1MiB)`;

/**
 * The image hashes to `actual` where the manifest says otherwise: for a full
 * generation its image changed; for a delta, the image its chain composes is
 * not the one it was written for, and the full generation `rootSequence` at
 * the chain's root is the link that changed (each delta file's own checksum
 * is checked before).
 */
export function checksumMismatch(generation: Generation, actual: string, rootSequence: number): string {
  const { manifest, imagePath } = generation;
  if (manifest.kind === 'full') return `checksum mismatch: image ${basename(imagePath)} changed after it was written (manifest ${manifest.checksum.value}, image ${actual})`;
  return `checksum mismatch: the image its chain composes is not the one it was written for (manifest ${manifest.checksum.value}, chain ${actual}); full generation ${rootSequence} at the chain's root changed after it was written`;
}

/**
 * A generation a restore found unusable (StoreError CORRUPT): its files
 * cannot be read, or the image does not match its checksum. `reason` is
 * the one line verify would give; a host starting on the directory skips
 * the generation with it and tries an older one.
 */
export class UnusableGeneration extends StoreError {
  readonly reason: string;
  readonly sequence: number;

  constructor(generation: Generation, reason: string, cause?: unknown) {
    super('CORRUPT', `cannot restore generation ${generation.sequence}: ${reason}`, {
      path: generation.imagePath,
      hint: 'restore an older generation: verify says which are intact',
      cause,
    });
    this.reason = reason;
    this.sequence = generation.sequence;
  }
}
