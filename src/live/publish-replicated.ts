// Telling the child which of its records are off the machine (docs/FORMAT.md,
// section 5): the replication words, written through the host's own mapping.
import { HEADER_SIZE, MAGIC, MAGIC_AT, REPLICATED_OFFSET_AT, readReplicated, wordsOf, writeReplicated } from '../format/index.js';
import { Mapping, futexWake } from '../sys/index.js';

/**
 * Publishes replicated_seq = `sequence` and replicated_offset =
 * `replicatedOffset` (a stream offset: every record ending at or before it
 * is in generation `sequence` on the replica) in the live header of `fd`,
 * unless the header already claims a larger one (it never moves
 * backwards). Returns what it published, or null. Only call it once the
 * generation is complete on the replica (its manifest written). Then wakes
 * every FUTEX_WAIT on the low half of replicated_offset (byte 64), as
 * publishDurable does for durable_offset.
 */
export function publishReplicated(fd: number, replicatedOffset: bigint, sequence: number): { replicatedOffset: bigint; replicatedSeq: number } | null {
  const mapping = Mapping.map(fd, HEADER_SIZE, { writable: true });
  try {
    const bytes = mapping.bytes;
    if (wordsOf(bytes).load(MAGIC_AT) !== MAGIC) return null;
    if (readReplicated(bytes).replicatedOffset > replicatedOffset) return null;
    writeReplicated(bytes, { replicatedOffset, replicatedSeq: BigInt(sequence) });
    try {
      futexWake(mapping, REPLICATED_OFFSET_AT);
    } catch {
      // Waiters still see the word within their wait slice (20 ms).
    }
    return { replicatedOffset, replicatedSeq: sequence };
  } finally {
    mapping.close();
  }
}
