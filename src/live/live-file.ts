// Reading a live shared file's header and slots as untrusted input: every
// format violation becomes the capture's 'invalid-layout' error.
import { fstatSync } from 'node:fs';
import {
  DATA_MASK_AT, ENTRY_MASK_AT, FormatError, HEADER_SIZE, MAGIC, MAGIC_AT, checkRecordSet, readHeader, validSlots, wordsOf,
  type Layout, type Slot,
} from '../format/index.js';
import { MAX_VIEW_BYTES, Mapping } from '../sys/index.js';
import { invalidLayout } from './errors.js';

export type LiveHeader = ReturnType<typeof readHeader>;

/** The header of the live file `fd`, validated against its current size. */
export function readLiveHeader(fd: number): LiveHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < HEADER_SIZE) throw invalidLayout(`the shared file has ${fileSize} bytes, less than the ${HEADER_SIZE}-byte header page`);
  // Only the header page is mapped here: a mapping of the whole file would
  // cost the runtime a garbage collection per capture.
  const page = Mapping.map(fd, HEADER_SIZE);
  try {
    return asInvalidLayout(() => readHeader(page.bytes, fileSize));
  } finally {
    page.close();
  }
}

/**
 * Runs `scan` on a read-only view of the live file's header and entry ring
 * (what the slot scans read with atomic loads), unmapped afterwards. The
 * rings and tail are never mapped: they are read with pread. An entry ring
 * too large for one JavaScript buffer (MAX_VIEW_BYTES: past 268 million
 * slots on Node 20) is an 'invalid-layout' error, never a fatal one.
 */
export async function withEntryRing<T>(fd: number, layout: Layout, scan: (live: Uint8Array) => Promise<T>): Promise<T> {
  if (layout.dataBase > MAX_VIEW_BYTES) {
    throw invalidLayout(`its ${layout.slots} entry slots take ${layout.dataBase - layout.entryBase} bytes, more than one JavaScript buffer holds in Node ${process.version} (${MAX_VIEW_BYTES})`);
  }
  const mapping = Mapping.map(fd, layout.dataBase);
  try {
    return await scan(mapping.bytes);
  } finally {
    mapping.close();
  }
}

/** Every valid slot of the live header and entry ring `live` (atomic loads). */
export function scanSlots(live: Uint8Array, layout: Layout): Slot[] {
  return asInvalidLayout(() => validSlots(live, layout));
}

/** The records of `slots` as a set the format allows (in stream order). */
export function recordSet(layout: Layout, slots: readonly Slot[]): Slot[] {
  return asInvalidLayout(() => checkRecordSet(layout, slots));
}

/** Throws unless magic and masks of the live header are still those of `layout`. */
export function checkHeaderUnchanged(live: Uint8Array, layout: Layout, during: string): void {
  const words = wordsOf(live);
  if (words.load(MAGIC_AT) !== MAGIC || words.load(ENTRY_MASK_AT) !== layout.entryMask || words.load(DATA_MASK_AT) !== layout.dataMask) {
    throw invalidLayout(`the header (magic or masks) changed during the ${during}`);
  }
}

/** True while the live file at `fd` is still unconfigured (magic 0). */
export function stillUnconfigured(fd: number): boolean {
  const page = Mapping.map(fd, HEADER_SIZE);
  try {
    return wordsOf(page.bytes).load(MAGIC_AT) === 0n;
  } finally {
    page.close();
  }
}

function asInvalidLayout<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof FormatError) throw invalidLayout(err.detail, err);
    throw err;
  }
}
