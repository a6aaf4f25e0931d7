// The snapshot directory: durable, checksummed generations, their lock,
// names and manifests, verify and fallback, retention, and the export file.
export type {
  Reason, Manifest, Generation, ListedGeneration, Verdict, NewestVerified, StoreOptions, ManifestFields, PendingImage,
  SnapshotStoreApi, GenerationCheck, GenerationKind, DeltaFacts, GenerationFile, VerifyOptions,
} from './types.js';
export type { SalvageRecord } from './salvage-record.js';
export type { OrphanDataFile } from './orphans.js';
export { ChainImage, resolveChain } from './chain.js';
export { DEFAULT_CHAIN_LIMITS, MAX_CHAIN_LIMITS, type ChainLimits } from './retention.js';
export { asFullManifest, MANIFEST_FORMAT } from './manifest.js';
export {
  realStoreFs, fsyncDirectoryWith, makeDirectoryDurably, removeIfPresentWith, writeFullyWith, type StoreFs,
} from './fs.js';
export { REASONS } from './types.js';
export { SnapshotStore } from './store.js';
export { StoreError, DirectoryLockedError, DirectoryPathError, holderLine, storeIoError, type StoreErrorCode } from './errors.js';
export { UnusableGeneration, chainUnreadable, checksumMismatch, imageSizeMismatch, imageUnopenable, imageUnreadable, unknownAlgorithm } from './unusable.js';
export { DirectoryLock } from './lock.js';
export { missingDirectories, removeNewDirectories } from './new-directory.js';
export { directoryPathProblem, prepareDirectory } from './directory.js';
export { raiseSequenceFloorIn, readSequenceFloor } from './sequence-floor.js';
export { markRestoreInProgress, clearRestoreMarker } from './restore-marker.js';
export { fieldsOfImage, manifestDisagreement, imageDisagreement, type ImageFacts } from './image-facts.js';
export { checksumOfFile, digestChunksOfFile, digestImage, type ReadAt } from './checksum-file.js';
export { generationFileName, parseGenerationFileName, CLEAN_END_MARKER, LOCK_NAME, RESTORE_MARKER, SEQUENCE_FLOOR_NAME, TEMP_PREFIX } from './names.js';
export { SET_ASIDE_DIR, setAsideDirOf } from './set-aside.js';
export { MIN_KEEP, DEFAULT_KEEP } from './retention.js';
export { serializeManifest } from './manifest.js';
export { ImageFile, recordBytes, STREAM_CHUNK, type ImageInfo, type ExtensionWords } from './image-file.js';
export { DurableFile } from './durable-file.js';
export { DELTA_MAGIC, looksLikeDelta, looksLikeImage } from './file-kind.js';
export {
  EXPORT_HEADER_SIZE, MAX_EXPORT_IMAGE_BYTES, ExportFormatError, decodeExportHeader, encodeExportHeader, encodeTrailer, exportFileSize, exportHash,
  exportedImageMismatch, looksLikeExport, parseEmbeddedManifest, type ExportHeader,
} from './export-format.js';
export { readExport, type ExportContents } from './export-reader.js';
export { exportFileStream } from './export-file-stream.js';
// The digest of an image's chunks lives in src/format; the store's users get it here too.
export { CHECKSUM_ALGORITHM, CHUNK_SIZE, BLOCK_SIZE, BLOCK_CHECKSUM_ALGORITHM, IMAGE_CHUNK_SIZE, IMAGE_CHECKSUM_ALGORITHM, ChunkDigests, chunkSizeOf } from '../format/index.js';
export { writeExport, importExport, type ImportProgress } from './transfer.js';
export { ShmHostError, type ShmHostErrorOptions } from '../errors.js';
export { sweptLine } from './settle.js';
