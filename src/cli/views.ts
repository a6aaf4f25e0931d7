// The JSON shapes the inspection commands print (documented in docs/CLI.md).
// Stream offsets and extension words are decimal strings: they can pass 2^53.
import { MAGIC, headEnd, type Slot } from '../format/index.js';
import type { ImageFile, ImageInfo, Manifest } from '../store/index.js';

/**
 * A delta generation's blocks, for show: of the `image` blocks of
 * `blockSize` bytes (the last one may be short), the delta holds `held`:
 * `stored` with their bytes in its file, `zeros` held as zeros (no bytes in
 * the file); of the others, `pastParentEnd` lie past the end of its
 * parent's image, so are zeros (docs/FORMAT.md, "The image a generation
 * stands for"), and `fromParent` are its parent's. Null for a full
 * generation (every block in its image file).
 *
 * `held` is not what changed: a host's delta holds every block of the
 * `head` (header, entry ring and data ring, up to the first 64 KiB boundary
 * after them or the image's end; docs/FORMAT.md "Delta file"), changed or
 * not, and past it (`tail`) only the blocks that differ from the parent's
 * (`changed`: `stored` and `zeros`, these set to zeros where the parent had
 * data). `head` and `tail` are null when the image has no layout to find
 * the head by (a file no writer configured) or is not read through its chain.
 */
export interface DeltaBlocks {
  readonly blockSize: number;
  readonly image: number;
  readonly held: number;
  readonly stored: number;
  readonly zeros: number;
  readonly fromParent: number;
  readonly pastParentEnd: number;
  readonly head: { readonly blocks: number; readonly held: number; readonly stored: number; readonly zeros: number } | null;
  readonly tail: { readonly changed: number; readonly stored: number; readonly zeros: number } | null;
}

/**
 * `m`'s blocks, for its `image` read through its chain (ImageFile.fromChain:
 * pastParentEnd, ownBlocksBelow), `tailBase` from its layout (null: none).
 */
export function deltaBlocks(m: Manifest, image: ImageFile, tailBase: number | null): DeltaBlocks | null {
  if (m.delta === null) return null;
  const { blockSize, held, stored } = m.delta;
  const blocks = Math.ceil(m.imageSize / blockSize);
  const pastParentEnd = image.pastParentEnd ?? 0;
  const counts = { blockSize, image: blocks, held, stored, zeros: held - stored, fromParent: blocks - held - pastParentEnd, pastParentEnd };
  // The head as the writer draws it.
  const head = tailBase === null ? null : headEnd(tailBase, m.imageSize);
  const own = head === null ? null : image.ownBlocksBelow(Math.ceil(head / blockSize));
  if (head === null || own === null) return { ...counts, head: null, tail: null };
  return {
    ...counts,
    head: { blocks: Math.ceil(head / blockSize), held: own.held, stored: own.stored, zeros: own.held - own.stored },
    tail: { changed: held - own.held, stored: stored - own.stored, zeros: held - own.held - (stored - own.stored) },
  };
}

/** The layout's magic as show prints it. */
export const MAGIC_HEX = `0x${MAGIC.toString(16).padStart(16, '0')}`;

/** A record as JSON. */
export function recordJson(r: Slot): { slot: number; offset: string; length: number } {
  return { slot: r.index, offset: r.offset.toString(), length: r.length };
}

/** What show prints about an image: header, records and tail. */
export function imageJson(info: ImageInfo, withSlots: boolean): Record<string, unknown> {
  if (!info.configured) {
    return { size: info.size, configured: false, header: null, records: { count: 0, oldest: null, newest: null }, tail: null };
  }
  const { layout, records, extension } = info;
  const oldest = records[0];
  const newest = records[records.length - 1];
  return {
    size: info.size,
    configured: true,
    header: {
      magic: MAGIC_HEX,
      slots: layout.slots,
      ringSize: layout.ringSize,
      writeOffset: info.writeOffset.toString(),
      extension: {
        present: extension.present,
        durableOffset: extension.durableOffset.toString(),
        snapshotSeq: extension.snapshotSeq.toString(),
      },
    },
    records: {
      count: records.length,
      oldest: oldest ? recordJson(oldest) : null,
      newest: newest ? recordJson(newest) : null,
      ...(withSlots ? { list: records.map(recordJson) } : {}),
    },
    tail: { offset: layout.tailBase, size: layout.tailSize },
  };
}
