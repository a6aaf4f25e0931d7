// The shared file's layout as pure functions over bytes: no I/O here.
export * from './constants.js';
export { FormatError, type FormatErrorCode } from './errors.js';
export { wordsOf, type Words } from './words.js';
export { readHeader, readLayout, planLayout, writeHeader, minimumFileSize, type Layout, type HeaderState } from './layout.js';
export {
  readSlot, validSlots, latestOf, sortedRecords, checkRecordSet, salvageRecordSet, ringPosition, copyRecord, slotAt,
  type Slot, type RecordRef,
} from './slots.js';
export { readExtension, writeExtension, readReplicated, writeReplicated, type Extension, type ReplicatedWords } from './extension.js';
export { BlockDigests, BLOCKS_PER_CHUNK, blockDigestsOf } from './block-digests.js';
export { CHECKSUM_ALGORITHM, CHUNK_SIZE, BLOCK_SIZE, BLOCK_CHECKSUM_ALGORITHM, IMAGE_CHUNK_SIZE, IMAGE_CHECKSUM_ALGORITHM, ChunkDigests, chunkRange, chunkSizeOf, digestOf, headEnd, zeroDigest } from './chunk-digests.js';
export { wideDigestOf, zeroWide } from './wide-digest.js';
export {
  AttachError, findSharedFd, unsetListenEnvironment, SD_LISTEN_FDS_START, SHARED_FD_NAME, LISTEN_VARIABLES,
} from './listen-fds.js';
export { ShmHostError, type ShmHostErrorOptions } from '../errors.js';
