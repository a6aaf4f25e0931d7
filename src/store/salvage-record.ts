// The mark a generation carries when its bytes were salvaged: an import
// that took an export whose image did not match its manifest's checksum
// (--ignore-checksum). The generation's own checksum is that of the bytes
// it holds, so it verifies; without this record nothing would tell it from
// a clean import (docs/FORMAT.md, section 9, the manifest's `salvaged`).

/** A manifest's `salvaged` field (optional: absent on generations never salvaged). */
export interface SalvageRecord {
  /** The generation the salvaged export was made of, in the directory it came from. */
  readonly sequence: number;
  /** The checksum value its manifest gave, which its image did not match. */
  readonly checksum: string;
  /** Why the image was not the one that manifest describes, in words. */
  readonly problem: string;
}

/**
 * `value` (a parsed manifest's `salvaged`) as a SalvageRecord; undefined
 * and null read as none; anything else as the first thing wrong with it.
 */
export function parseSalvageRecord(value: unknown): SalvageRecord | null | string {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return 'the manifest has an invalid salvaged record';
  const { sequence, checksum, problem } = value as Record<string, unknown>;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1 || typeof checksum !== 'string' || checksum === '' || typeof problem !== 'string') {
    return 'the manifest has an invalid salvaged record';
  }
  return { sequence, checksum, problem };
}
