// Byte layout of the shared file and of every snapshot image (docs/FORMAT.md).
export const PAGE_SIZE = 4096;
export const HEADER_SIZE = PAGE_SIZE;
export const SLOT_SIZE = 16;

export const MAGIC = 0x96c2_a6f4_b685_19b3n;
export const EXT_MAGIC = 0x5348_4d48_4f53_5401n;
/** Marks the replication words (bytes 56..79) as written; separate from EXT_MAGIC so readers of durable_offset are unaffected. */
export const REPLICA_MAGIC = 0x5348_4d48_4f53_5402n;

// Byte offsets of the header words.
export const MAGIC_AT = 0;
export const ENTRY_MASK_AT = 8;
export const DATA_MASK_AT = 16;
export const WRITE_OFFSET_AT = 24;
export const EXT_MAGIC_AT = 32;
export const DURABLE_OFFSET_AT = 40;
export const SNAPSHOT_SEQ_AT = 48;
export const REPLICA_MAGIC_AT = 56;
export const REPLICATED_OFFSET_AT = 64;
export const REPLICATED_SEQ_AT = 72;

export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Rounds `n` up to a whole number of pages. */
export function pagesFor(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}
