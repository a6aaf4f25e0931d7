// Telling the child which of its records are off the machine (docs/FORMAT.md,
// section 5): the replication words, written through the host's own mapping.
import { REPLICATED_OFFSET_AT, readReplicated, writeReplicated } from '../format/index.js';
import { publishWords } from './publish-words.js';

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
  const wrote = publishWords(fd, replicatedOffset, (b) => readReplicated(b).replicatedOffset, (b) => writeReplicated(b, { replicatedOffset, replicatedSeq: BigInt(sequence) }), REPLICATED_OFFSET_AT);
  return wrote ? { replicatedOffset, replicatedSeq: sequence } : null;
}
