// Captures as the host takes them: each memory file read through the
// mapping the host keeps of its current file between captures
// (KeptMapping), unmapped when the file is closed.
import { closeSync } from 'node:fs';
import { KeptMapping, capture, type CaptureOptions, type CaptureResult } from '../../src/live/index.js';
import type { Reason, SnapshotStore } from '../../src/store/index.js';

const kept = new Map<number, KeptMapping>();

/** capture() of `fd` with the mapping kept for it, as the host's capture queue calls it. */
export function captureAsHost(fd: number, store: SnapshotStore, reason: Reason, options: CaptureOptions = {}): Promise<CaptureResult> {
  let mapping = kept.get(fd);
  if (mapping === undefined) kept.set(fd, (mapping = new KeptMapping(fd)));
  return capture(fd, store, reason, { ...options, kept: mapping });
}

/** Closes `fd` and the mapping kept for it. */
export function closeAsHost(fd: number): void {
  kept.get(fd)?.close();
  kept.delete(fd);
  closeSync(fd);
}
