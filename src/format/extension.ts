import { DURABLE_OFFSET_AT, EXT_MAGIC, EXT_MAGIC_AT, SNAPSHOT_SEQ_AT } from './constants.js';
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
