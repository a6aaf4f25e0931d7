// Why a capture stored nothing, as data the supervisor can branch on.
import { ShmHostError } from '../errors.js';

/**
 * - `invalid-layout`: the child wrote a header or slots that break the format
 *   (a buggy or hostile child); nothing was stored, the previous generation
 *   stays the newest.
 * - `starved`: the child overwrote every record while it was being copied,
 *   on every attempt; nothing was stored.
 * - `io`: the snapshot directory could not take the generation (full disk,
 *   read-only file system...); `cause` is the StoreError.
 * - `unconfigured`: a live capture of a file no writer configured yet: there
 *   is nothing consistent to take while a child may be configuring it.
 */
export type CaptureErrorKind = 'invalid-layout' | 'starved' | 'io' | 'unconfigured';

/** A capture that stored nothing; `message` is one line naming the problem. */
export class CaptureError extends ShmHostError {
  readonly kind: CaptureErrorKind;
  /** Attempts that found no consistent record (all of them, for `starved`). */
  readonly starvedRetries: number;

  constructor(kind: CaptureErrorKind, message: string, options: { cause?: unknown; starvedRetries?: number } = {}) {
    // The code is the kind as a constant's name: INVALID_LAYOUT, STARVED, IO, UNCONFIGURED.
    super(kind.toUpperCase().replace('-', '_'), message, { cause: options.cause });
    this.name = 'CaptureError';
    this.kind = kind;
    this.starvedRetries = options.starvedRetries ?? 0;
  }
}

/**
 * Inside one capture attempt only: a delta's parent could not be opened or
 * read, so the attempt is retried as a full generation (never thrown out of
 * capture()).
 */
export class ParentUnreadable extends Error {
  constructor(parentSequence: number, cause: unknown) {
    // The problem without the store's hint (written for a restore, not for this capture).
    const why = cause instanceof ShmHostError ? cause.problem : cause instanceof Error ? cause.message : String(cause);
    super(`the parent of the delta, generation ${parentSequence}, could not be read (${why}): a full generation is written instead`, { cause });
    this.name = 'ParentUnreadable';
  }
}

/** The invalid-layout error for what is wrong with the child's file (a FormatError's `detail`, or words of its own). */
export function invalidLayout(detail: string, cause?: unknown): CaptureError {
  return new CaptureError('invalid-layout', `child wrote an invalid layout: ${detail}`, { cause });
}
