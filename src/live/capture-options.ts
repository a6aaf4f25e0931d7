// The options and the result of a capture.
import type { Slot } from '../format/index.js';
import type { Generation } from '../store/index.js';
import type { KeptMapping } from './kept-mapping.js';

/** Where a slowed-down copy is (see CaptureOptions.throttle). */
export interface CopyProgress {
  /** `rings`: header, entry ring and data ring (between the scans); `tail`: after them; `raw`: an unconfigured file. */
  readonly phase: 'rings' | 'tail' | 'raw';
  readonly offset: number;
  readonly length: number;
}

/** How a capture behaves; all optional. */
export interface CaptureOptions {
  /**
   * The writer is known dead (its process group is gone): every valid record
   * is taken as is, and a file never configured is captured raw. Default:
   * true for the reasons 'post-mortem' and 'shutdown', false otherwise.
   */
  readonly postMortem?: boolean;
  /** Attempts after a starved one before giving up with CaptureError 'starved' (default DEFAULT_MAX_STARVED_RETRIES, 15). */
  readonly maxStarvedRetries?: number;
  /**
   * A mapping of the live file kept between captures (the host's current
   * file, see KeptMapping): read instead of mapping the file anew, which
   * saves the page faults and the munmap of every capture.
   */
  readonly kept?: KeptMapping;
  /** Test hook: awaited after each copied step of up to 1 MiB, to slow the copy down. */
  readonly throttle?: (progress: CopyProgress) => Promise<void> | void;
  /** Diagnostic hook: the valid slots each scan saw, for tests that check the pre/post rule from outside. */
  readonly onScan?: (scan: 'pre' | 'post', slots: readonly Slot[]) => void;
}

/** A stored capture. */
export interface CaptureResult {
  readonly generation: Generation;
  /** Consistent records in the image. */
  readonly records: number;
  /** Data bytes copied from the live file (holes cost nothing), last attempt. */
  readonly bytesCopied: number;
  /** Wall time of the whole capture, retries included. */
  readonly durationMs: number;
  /** Attempts that were starved before this one succeeded. */
  readonly starvedRetries: number;
  /** A post-mortem capture found the file changing: something still writes it. Only consistent records were kept. */
  readonly writerActive: boolean;
  /** What was published in the live header, or null (no record, or an older claim was larger). */
  readonly published: { readonly durableOffset: bigint; readonly snapshotSeq: number } | null;
  /** Why this generation is full although a delta was due (its parent could not be read), or null. */
  readonly fullBecause: string | null;
}
