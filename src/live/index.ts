// Everything that reads or writes a live shared memory file: creating it,
// watching its header, the queue-strategy capture (docs/FORMAT.md, section
// 8), carry-over, restoring an image into it, publishing durable_offset.
export { capture } from './capture.js';
export type { CaptureOptions, CaptureResult, CopyProgress } from './capture-options.js';
export { CaptureError, type CaptureErrorKind } from './errors.js';
export { consistentSlots, isStarved, sameRecords } from './consistency.js';
export { copyMemoryFile } from './copy-memory-file.js';
export { carryOver, type CarryOver } from './carry-over.js';
export { restoreImage } from './restore.js';
export { publishDurable } from './publish-durable.js';
export { publishReplicated } from './publish-replicated.js';
export { createSharedFile, growTo, sealAgainstShrink, sizeOf } from './memory-file.js';
export { HeaderWatch } from './header-watch.js';
export { KeptMapping } from './kept-mapping.js';
export { copySparse, zeroData, CopyError } from './sparse-copy.js';
export { copyIntoMemoryFile } from './into-memory-file.js';
export { probeSharedFileSize } from './size-probe.js';
