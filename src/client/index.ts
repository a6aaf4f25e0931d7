// What a child program imports: attach to the shared file and commit records.
export { attach, defaultConfig, type AttachOptions } from './attach.js';
export { SharedState, type CommittedRecord } from './shared-state.js';
export { AttachError, findSharedFd, unsetListenEnvironment, SHARED_FD_NAME, SD_LISTEN_FDS_START, FormatError } from '../format/index.js';
export { ShmHostError, type ShmHostErrorOptions } from '../errors.js';
export { DoubleBuffer, type DoubleBufferVersion } from './double-buffer.js';
export { recordBytes, type RecordBytes } from './bytes.js';
export { type DurableOptions } from './durable.js';
