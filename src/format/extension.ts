import {
  DURABLE_OFFSET_AT, EXT_MAGIC, EXT_MAGIC_AT, REPLICATED_OFFSET_AT, REPLICATED_SEQ_AT, REPLICA_MAGIC, REPLICA_MAGIC_AT, SNAPSHOT_SEQ_AT,
} from './constants.js';
import { wordsOf } from './words.js';

/** The host's words in the reserved header space; zeros when the host never wrote them. */
export interface Extension {
  readonly durableOffset: bigint;
  readonly snapshotSeq: bigint;
}

export function readExtension(bytes: Uint8Array): Extension {
  const words = wordsOf(bytes);
  if (words.load(EXT_MAGIC_AT) !== EXT_MAGIC) return { durableOffset: 0n, snapshotSeq: 0n };
  return { durableOffset: words.load(DURABLE_OFFSET_AT), snapshotSeq: words.load(SNAPSHOT_SEQ_AT) };
}

/**
 * Publishes which records are durable (host only). Sequence first, then the
 * offset, then the extension magic: a reader that sees the magic sees both.
 */
export function writeExtension(bytes: Uint8Array, ext: Extension): void {
  const words = wordsOf(bytes);
  words.store(SNAPSHOT_SEQ_AT, ext.snapshotSeq);
  words.store(DURABLE_OFFSET_AT, ext.durableOffset);
  words.store(EXT_MAGIC_AT, EXT_MAGIC);
}

/** The replication words: which records are on the replica, and in which generation; zeros when none are. */
export interface ReplicatedWords {
  readonly replicatedOffset: bigint;
  readonly replicatedSeq: bigint;
}

/** Reads replicated_offset and replicated_seq (magic, then offset, then sequence: docs/FORMAT.md section 5). */
export function readReplicated(bytes: Uint8Array): ReplicatedWords {
  const words = wordsOf(bytes);
  if (words.load(REPLICA_MAGIC_AT) !== REPLICA_MAGIC) return { replicatedOffset: 0n, replicatedSeq: 0n };
  return { replicatedOffset: words.load(REPLICATED_OFFSET_AT), replicatedSeq: words.load(REPLICATED_SEQ_AT) };
}

/** Publishes which records are on the replica (host only): sequence, offset, then the magic, as writeExtension. */
export function writeReplicated(bytes: Uint8Array, words: ReplicatedWords): void {
  const w = wordsOf(bytes);
  w.store(REPLICATED_SEQ_AT, words.replicatedSeq);
  w.store(REPLICATED_OFFSET_AT, words.replicatedOffset);
  w.store(REPLICA_MAGIC_AT, REPLICA_MAGIC);
}
