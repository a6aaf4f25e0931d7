import {
  DATA_MASK_AT, ENTRY_MASK_AT, HEADER_SIZE, MAGIC, MAGIC_AT, SLOT_SIZE, WRITE_OFFSET_AT, pagesFor,
} from './constants.js';
import { FormatError, hex, invalidLayoutError } from './errors.js';
import { wordsOf } from './words.js';

/** The first bytes of a delta generation's data file (docs/FORMAT.md section 9): `SHMDELTA`, never an image. */
const DELTA_FILE_MAGIC = [...'SHMDELTA'].map((c) => c.charCodeAt(0));

/** Where everything lives in a configured file; all sizes in bytes. */
export interface Layout {
  /** Size of the file or image the layout was read from. */
  readonly fileSize: number;
  readonly slots: number;
  readonly ringSize: number;
  readonly entryMask: bigint;
  readonly dataMask: bigint;
  readonly entryBase: number;
  readonly dataBase: number;
  readonly tailBase: number;
  readonly tailSize: number;
}

export type HeaderState =
  | { readonly configured: false }
  | { readonly configured: true; readonly layout: Layout; readonly writeOffset: bigint };

const isMask = (m: bigint): boolean => (m & (m + 1n)) === 0n;

/**
 * The smallest file that holds a header, `slots` entries and a ring of
 * `ringSize` bytes (no tail).
 */
export function minimumFileSize(slots: number, ringSize: number): number {
  return HEADER_SIZE + pagesFor(slots * SLOT_SIZE) + pagesFor(ringSize);
}

function layoutOf(fileSize: number, entryMask: bigint, dataMask: bigint): Layout {
  if (!isMask(entryMask)) {
    throw invalidLayoutError('BAD_ENTRY_MASK', `entry_mask ${hex(entryMask)} is not a power of two minus one`);
  }
  if (!isMask(dataMask)) {
    throw invalidLayoutError('BAD_DATA_MASK', `data_mask ${hex(dataMask)} is not a power of two minus one`);
  }
  // Compare in bigint first: hostile masks may be near 2^64.
  const slotsBig = entryMask + 1n;
  const ringBig = dataMask + 1n;
  const pages = (n: bigint): bigint => ((n + 4095n) / 4096n) * 4096n;
  const needed = BigInt(HEADER_SIZE) + pages(slotsBig * BigInt(SLOT_SIZE)) + pages(ringBig);
  if (needed > BigInt(fileSize)) {
    throw invalidLayoutError(
      'RINGS_DO_NOT_FIT',
      `${slotsBig} entry slots and a ${ringBig}-byte data ring need ${needed} bytes, but the file has ${fileSize}`,
    );
  }
  if (ringBig < 2n) {
    throw invalidLayoutError('BAD_DATA_MASK', `a data ring of ${ringBig} byte cannot hold a record`);
  }
  const slots = Number(slotsBig);
  const ringSize = Number(ringBig);
  const entryBase = HEADER_SIZE;
  const dataBase = entryBase + pagesFor(slots * SLOT_SIZE);
  const tailBase = dataBase + pagesFor(ringSize);
  return { fileSize, slots, ringSize, entryMask, dataMask, entryBase, dataBase, tailBase, tailSize: fileSize - tailBase };
}

/**
 * Reads and validates the header of `bytes` (a live mapping or an image).
 * A zero magic means unconfigured; any other foreign magic, bad mask or ring
 * that does not fit throws a FormatError. `fileSize` is the size of the
 * whole file when `bytes` holds only its beginning (the header page, or the
 * header and entry ring, which is all the slot functions read).
 */
export function readHeader(bytes: Uint8Array, fileSize: number = bytes.byteLength): HeaderState {
  if (bytes.byteLength < HEADER_SIZE) {
    throw invalidLayoutError('TOO_SMALL', `the file has ${bytes.byteLength} bytes, less than the ${HEADER_SIZE}-byte header page`);
  }
  const words = wordsOf(bytes);
  const magic = words.load(MAGIC_AT);
  if (magic === 0n) return { configured: false };
  if (magic !== MAGIC) {
    if (DELTA_FILE_MAGIC.every((b, i) => bytes[i] === b)) {
      throw new FormatError('BAD_MAGIC', "a delta generation's data file (magic SHMDELTA), not an image: it holds only the blocks changed since its parent, and is read through its chain (docs/FORMAT.md section 9)");
    }
    throw new FormatError('BAD_MAGIC', `not a shm-host file: magic is ${hex(magic)}, expected ${hex(MAGIC)}`);
  }
  const layout = layoutOf(fileSize, words.load(ENTRY_MASK_AT), words.load(DATA_MASK_AT));
  return { configured: true, layout, writeOffset: words.load(WRITE_OFFSET_AT) };
}

/** Like readHeader, but an unconfigured file is an error too. */
export function readLayout(bytes: Uint8Array): { layout: Layout; writeOffset: bigint } {
  const state = readHeader(bytes);
  if (!state.configured) throw new FormatError('BAD_MAGIC', 'the file is not configured: its magic is zero (no writer ever attached)');
  return state;
}

/**
 * Checks a configuration a writer wants to apply to a file of `fileSize`
 * bytes and returns its layout; throws a FormatError naming the limit.
 */
export function planLayout(fileSize: number, slots: number, ringSize: number): Layout {
  for (const [name, v] of [['slots', slots], ['ringSize', ringSize]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || !isMask(BigInt(v) - 1n)) {
      throw new FormatError('BAD_CONFIG', `${name} must be a power of two, got ${v}`);
    }
  }
  if (ringSize < 2) throw new FormatError('BAD_CONFIG', `ringSize must be at least 2 bytes, got ${ringSize}`);
  const needed = minimumFileSize(slots, ringSize);
  if (needed > fileSize) {
    throw new FormatError(
      'RINGS_DO_NOT_FIT',
      `${slots} slots and a ${ringSize}-byte ring need a file of at least ${needed} bytes, but it has ${fileSize}`,
    );
  }
  return layoutOf(fileSize, BigInt(slots) - 1n, BigInt(ringSize) - 1n);
}

/**
 * Configures an unconfigured file: masks and write_offset first, the magic
 * last (atomic store), so a reader that sees the magic sees the masks too.
 */
export function writeHeader(bytes: Uint8Array, layout: Layout, writeOffset = 0n): void {
  const words = wordsOf(bytes);
  words.store(ENTRY_MASK_AT, layout.entryMask);
  words.store(DATA_MASK_AT, layout.dataMask);
  words.store(WRITE_OFFSET_AT, writeOffset);
  words.store(MAGIC_AT, MAGIC);
}
