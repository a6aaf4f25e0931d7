// The 128-bit digest a delta tells unchanged chunks by.
//
// A delta inherits a chunk from its parent when the chunk's digest equals
// the parent's; a change whose digest collides with the old bytes' would
// be lost without a trace (the image checksum is folded from the same
// digests). So the comparison takes 128 bits: the chunk's XXH3-64 (its
// checksum digest) and the high half of its XXH3-128. Over 240 bytes the
// two are XXH3-128 itself, whose low half is XXH3-64: one call gives both
// (sys/xxh3.ts). A 4 KiB block of a changed chunk is still told by
// its XXH3-64 alone: a block a collision left out makes the chunk's bytes
// differ from the digest recorded for them, which the checksum catches.
import { xxh3Wide } from '../sys/index.js';

/** [XXH3-64, the high half of XXH3-128] (seed 0) of `bytes`: the chunk's digest and the rest of its 128-bit digest. */
export function wideDigestOf(bytes: Uint8Array): [bigint, bigint] {
  return xxh3Wide(bytes);
}

const zeroWides = new Map<number, readonly [bigint, bigint]>();

/** wideDigestOf() of `length` zero bytes (every hole-only chunk of that length), computed once per length. */
export function zeroWide(length: number): readonly [bigint, bigint] {
  let d = zeroWides.get(length);
  if (d === undefined) {
    d = wideDigestOf(new Uint8Array(length));
    zeroWides.set(length, d);
  }
  return d;
}
