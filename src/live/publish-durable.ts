// Telling the child which of its records are durable (docs/FORMAT.md,
// section 5): written through the host's own mapping of the header.
import { DURABLE_OFFSET_AT, readExtension, writeExtension } from '../format/index.js';
import { publishWords } from './publish-words.js';

/**
 * Publishes durable_offset = `durableOffset` and snapshot_seq = `sequence`
 * in the live header of `fd`, unless the header already claims a larger
 * durable offset (it never moves backwards). Returns what it published, or
 * null. Only call it once the generation is durable. Then wakes every
 * child waiting in FUTEX_WAIT on the low half of durable_offset (docs/FORMAT.md
 * section 5), so a C or Python wait_durable returns at once.
 */
export function publishDurable(fd: number, durableOffset: bigint, sequence: number): { durableOffset: bigint; snapshotSeq: number } | null {
  const wrote = publishWords(fd, durableOffset, (b) => readExtension(b).durableOffset, (b) => writeExtension(b, { durableOffset, snapshotSeq: BigInt(sequence) }), DURABLE_OFFSET_AT);
  return wrote ? { durableOffset, snapshotSeq: sequence } : null;
}
