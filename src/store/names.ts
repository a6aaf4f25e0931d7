// The names of the files in a snapshot directory: one format/parse pair, so
// that every part of the store agrees on them. Sequence numbers are written
// with a fixed width so that names sort by sequence.
import { join } from 'node:path';

/** The files of a generation: its manifest, and its image (full) or its delta file (delta). */
export type GenerationFileKind = 'image' | 'manifest' | 'delta';

const EXTENSIONS: Record<GenerationFileKind, string> = { image: 'img', manifest: 'json', delta: 'delta' };
const KINDS: Record<string, GenerationFileKind> = { img: 'image', json: 'manifest', delta: 'delta' };
const SEQUENCE_DIGITS = 16; // 2^53 has 16 decimal digits
const NAME = /^gen-(\d{16})\.(img|json|delta)$/;

/**
 * A file a restore from a replica keeps in the directory until everything
 * it wrote is durable (docs/FORMAT.md section 9): while it is there, the
 * directory is an interrupted restore, not a store to open.
 */
export const RESTORE_MARKER = 'restore-in-progress';

/** Prefix of every temporary file; anything so named is debris of an interrupted write. */
export const TEMP_PREFIX = '.tmp-';

/** The lock file that marks the directory's current host. */
export const LOCK_NAME = 'lock';

/**
 * A file a host leaves at its clean end and deletes at its next start
 * (clean-end.ts): found at a start, it says no process of the last host
 * still holds its shared memory.
 */
export const CLEAN_END_MARKER = 'clean-end';

/** The highest sequence the directory's replica was last seen to hold (sequence-floor.ts). */
export const SEQUENCE_FLOOR_NAME = 'sequence-floor';

/** The largest sequence number a name can hold (and JavaScript count exactly). */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** `gen-0000000000000042.img` / `.json` for generation 42. */
export function generationFileName(sequence: number, kind: GenerationFileKind): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`a generation's sequence must be a positive integer, got ${sequence}`);
  return `gen-${String(sequence).padStart(SEQUENCE_DIGITS, '0')}.${EXTENSIONS[kind]}`;
}

/** The generation a file name belongs to, or null for any other name (temporary files included). */
export function parseGenerationFileName(name: string): { sequence: number; kind: GenerationFileKind } | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const sequence = Number(m[1]);
  if (!Number.isSafeInteger(sequence) || sequence < 1) return null;
  return { sequence, kind: KINDS[m[2]!]! };
}

/** The temporary name a file is written under before its rename to `finalName`. */
export function temporaryName(finalName: string): string {
  return `${TEMP_PREFIX}${finalName}`;
}

/** True for a name temporaryName() made: debris to sweep when no write is in progress. */
export function isTemporaryName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/**
 * Absolute paths of one generation's data file and manifest: `imagePath` is
 * the image of a full generation (the default) or the `.delta` file of a delta.
 */
export function generationPaths(dir: string, sequence: number, kind: 'full' | 'delta' = 'full'): { imagePath: string; manifestPath: string } {
  return {
    imagePath: join(dir, generationFileName(sequence, kind === 'full' ? 'image' : 'delta')),
    manifestPath: join(dir, generationFileName(sequence, 'manifest')),
  };
}
