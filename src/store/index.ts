// The snapshot store: durable, checksummed generations in a directory.
export type {
  Reason, Manifest, Generation, ListedGeneration, Verdict, NewestVerified, StoreOptions, ManifestFields, PendingImage,
  SnapshotStoreApi,
} from './types.js';
export { SnapshotStore } from './store.js';
export { StoreError, storeIoError, type StoreErrorCode } from './errors.js';
export { restoreImage } from './restore.js';
export { fieldsOfImage, manifestDisagreement, type ImageFacts } from './image-facts.js';
export { copyIntoMemoryFile } from './into-memory-file.js';
export { publishDurable } from './publish-durable.js';
export { CHECKSUM_ALGORITHM, CHUNK_SIZE, ChunkDigests, checksumOfFile, digestChunksOfFile } from './checksum.js';
export { copySparse, zeroData, CopyError } from './sparse-copy.js';
export { dataRuns, type Run } from './data-runs.js';
export { generationFileName, parseGenerationFileName, TEMP_PREFIX } from './names.js';
export { MIN_KEEP, DEFAULT_KEEP } from './retention.js';
