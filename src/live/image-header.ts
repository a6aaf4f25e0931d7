// Finishing the header page and entry ring of an image after the post-scan
// (docs/FORMAT.md, section 8, step 5): every slot that is not consistent gets length 0.
import {
  DATA_MASK_AT, ENTRY_MASK_AT, HEADER_SIZE, MAGIC_AT, SLOT_SIZE, WRITE_OFFSET_AT, type Layout, type Slot,
} from '../format/index.js';
import type { PendingImage } from '../store/index.js';
import { readFully } from '../sys/index.js';

/** Slots patched per read-modify-write step (1 MiB of entry ring). */
const SLOTS_PER_STEP = (1 << 20) / SLOT_SIZE;

/**
 * Rewrites the entry ring of the snapshot image `image` so that exactly the
 * `consistent` records are valid: their slots hold their (offset, length),
 * every other slot has length 0 (its offset is kept, as the copy saw it).
 * Reads back and rewrites only what changes, so holes of the entry ring
 * stay holes. Writes go through the image (the store's file system).
 */
export async function keepOnlyConsistent(image: PendingImage, layout: Layout, consistent: readonly Slot[]): Promise<void> {
  const fd = image.fd;
  const keep = new Map<number, Slot>();
  for (const s of consistent) keep.set(s.index, s);
  const buf = new Uint8Array(Math.min(layout.slots, SLOTS_PER_STEP) * SLOT_SIZE);
  const view = new DataView(buf.buffer);
  for (let first = 0; first < layout.slots; first += SLOTS_PER_STEP) {
    const count = Math.min(SLOTS_PER_STEP, layout.slots - first);
    const at = layout.entryBase + first * SLOT_SIZE;
    const bytes = count * SLOT_SIZE;
    await readFully(fd, buf, 0, bytes, at);
    let changed = false;
    for (let i = 0; i < count; i++) {
      const k = keep.get(first + i);
      const offset = k ? k.offset : view.getBigUint64(i * SLOT_SIZE, true);
      const length = k ? BigInt(k.length) : 0n;
      if (view.getBigUint64(i * SLOT_SIZE, true) !== offset || view.getBigUint64(i * SLOT_SIZE + 8, true) !== length) {
        view.setBigUint64(i * SLOT_SIZE, offset, true);
        view.setBigUint64(i * SLOT_SIZE + 8, length, true);
        changed = true;
      }
    }
    if (changed) await image.write(buf, 0, bytes, at);
  }
}

/** The words of an image's header page that a capture checks. */
export interface ImageHeader {
  readonly magic: bigint;
  readonly entryMask: bigint;
  readonly dataMask: bigint;
  readonly writeOffset: bigint;
}

/** Reads the header words of the image `fd` as copied. */
export async function readImageHeader(fd: number): Promise<ImageHeader> {
  const page = new Uint8Array(HEADER_SIZE);
  await readFully(fd, page, 0, HEADER_SIZE, 0);
  const view = new DataView(page.buffer);
  return {
    magic: view.getBigUint64(MAGIC_AT, true),
    entryMask: view.getBigUint64(ENTRY_MASK_AT, true),
    dataMask: view.getBigUint64(DATA_MASK_AT, true),
    writeOffset: view.getBigUint64(WRITE_OFFSET_AT, true),
  };
}

/** keepOnlyConsistent() on an in-memory copy of the header page and entry ring. */
export function keepOnlyConsistentIn(bytes: Uint8Array, layout: Layout, consistent: readonly Slot[]): void {
  const keep = new Map<number, Slot>();
  for (const s of consistent) keep.set(s.index, s);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < layout.slots; i++) {
    const at = layout.entryBase + i * SLOT_SIZE;
    const k = keep.get(i);
    if (k) {
      view.setBigUint64(at, k.offset, true);
      view.setBigUint64(at + 8, BigInt(k.length), true);
    } else {
      view.setBigUint64(at + 8, 0n, true);
    }
  }
}

/** The header words of an in-memory copy of an image's header page. */
export function imageHeaderOf(bytes: Uint8Array): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  return {
    magic: view.getBigUint64(MAGIC_AT, true),
    entryMask: view.getBigUint64(ENTRY_MASK_AT, true),
    dataMask: view.getBigUint64(DATA_MASK_AT, true),
    writeOffset: view.getBigUint64(WRITE_OFFSET_AT, true),
  };
}
