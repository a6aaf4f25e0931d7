// Capturing a live shared file into the snapshot store (SPEC section 4).
export { capture } from './capture.js';
export type { CaptureOptions, CaptureResult, CopyProgress } from './options.js';
export { CaptureError, type CaptureErrorKind } from './errors.js';
export { consistentSlots, isStarved } from './consistency.js';
export { copyMemoryFile } from './copy-memory-file.js';
export { carryOver, type CarryOver } from './carry-over.js';
