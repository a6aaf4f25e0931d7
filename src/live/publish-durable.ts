// Telling the child which of its records are durable (docs/FORMAT.md,
// section 5): written through the host's own mapping of the header.
import { DURABLE_OFFSET_AT, HEADER_SIZE, MAGIC, MAGIC_AT, readExtension, wordsOf, writeExtension } from '../format/index.js';
import { Mapping, futexWake } from '../sys/index.js';

/**
 * Publishes durable_offset = `durableOffset` and snapshot_seq = `sequence`
 * in the live header of `fd`, unless the header already claims a larger
 * durable offset (it never moves backwards). Returns what it published, or
 * null. Only call it once the generation is durable. Then wakes every
 * child waiting in FUTEX_WAIT on the low half of durable_offset (docs/FORMAT.md
 * section 5), so a C or Python wait_durable returns at once.
 */
export function publishDurable(fd: number, durableOffset: bigint, sequence: number): { durableOffset: bigint; snapshotSeq: number } | null {
  const mapping = Mapping.map(fd, HEADER_SIZE, { writable: true });
  try {
    const bytes = mapping.bytes;
    if (wordsOf(bytes).load(MAGIC_AT) !== MAGIC) return null;
    if (readExtension(bytes).durableOffset > durableOffset) return null;
    writeExtension(bytes, { durableOffset, snapshotSeq: BigInt(sequence) });
    try {
      futexWake(mapping, DURABLE_OFFSET_AT);
    } catch {
      // Waiters still see the word within their wait slice (20 ms).
    }
    return { durableOffset, snapshotSeq: sequence };
  } finally {
    mapping.close();
  }
}
