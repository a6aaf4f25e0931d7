// The JSON shapes the inspection commands print (documented in docs/CLI.md).
// Stream offsets and extension words are decimal strings: they can pass 2^53.
import { MAGIC, type Slot } from '../format/index.js';
import type { ImageInfo, Manifest } from '../store/index.js';

/**
 * A delta generation's blocks, for show: of the `image` blocks of
 * `blockSize` bytes (the last one may be short), the delta holds `held`:
 * `stored` with their bytes in its file, `zeros` set to zeros (no bytes in
 * the file); of the others, `pastParentEnd` lie past the end of its
 * parent's image, so are zeros (docs/FORMAT.md, "The image a generation
 * stands for"), and `fromParent` are its parent's. Null for a full
 * generation (every block in its image file).
 */
export interface DeltaBlocks {
  readonly blockSize: number;
  readonly image: number;
  readonly held: number;
  readonly stored: number;
  readonly zeros: number;
  readonly fromParent: number;
  readonly pastParentEnd: number;
}

/** `m`'s blocks; `pastParentEnd` from its chain (ImageFile.pastParentEnd). */
export function deltaBlocks(m: Manifest, pastParentEnd: number): DeltaBlocks | null {
  if (m.delta === null) return null;
  const { blockSize, held, stored } = m.delta;
  const image = Math.ceil(m.imageSize / blockSize);
  return { blockSize, image, held, stored, zeros: held - stored, fromParent: image - held - pastParentEnd, pastParentEnd };
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
