// Copying between files by 1 MiB steps, skipping the holes of the source.
//
// Only the source's data runs are copied (SEEK_DATA/SEEK_HOLE): a 1 GiB
// memory file that holds 10 MiB costs about 10 MiB of work and leaves the
// destination sparse too. Reads and writes run on libuv's thread pool,
// several steps in flight, so a multi-GiB copy never holds the event loop
// for more than one step's bookkeeping and one 1 MiB digest.
//
// Two ways to move the bytes, both measured on this machine:
// - through a buffer (pread, hash, pwrite): the bytes hashed are the bytes
//   written, and the source is only ever read with pread, so a source that
//   shrinks meanwhile gives zeros, never a fault. For a capture, where the
//   source is the live file, this was as fast as writing straight from a
//   mapping of it: the page faults of a fresh mapping cost as much as the
//   copy they save.
// - straight into a mapping of the destination (pread into it): for a
//   restore into a new memory file, whose pages must be faulted in anyway.
import { ShmHostError } from '../errors.js';
import { CHUNK_SIZE, type ChunkDigests } from '../format/index.js';
import { RunCursor, dataRuns, readFully, writeFully, type Run } from '../sys/index.js';

/** Bytes per copy step: the checksum's chunk, so a whole step is a whole chunk. */
const STEP = CHUNK_SIZE;
/** Steps in flight at once. */
const DEPTH = 4;
const NOTHING = new Uint8Array(0);

/** Which side of a copy failed: callers report a failed read and a failed write differently. */
export class CopyError extends ShmHostError {
  readonly side: 'read' | 'write';

  constructor(side: 'read' | 'write', cause: unknown) {
    super(side === 'read' ? 'COPY_READ' : 'COPY_WRITE', `${side} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'CopyError';
    this.side = side;
  }
}

/** How copySparse moves, hashes and paces the bytes. */
export interface SparseCopyOptions {
  /** Size of the destination, which sets the chunk grid's last chunk. */
  readonly size: number;
  /**
   * A window of a mapping of the destination covering [start, end), its
   * byte 0 at file offset `destinationBase` (default 0): bytes are read
   * straight into it (and hashed there). Without it they go through a buffer.
   */
  readonly destination?: Uint8Array;
  readonly destinationBase?: number;
  /**
   * Hash every whole chunk as copied (holes as zeros, without touching
   * them) into `digests`, for the chunks `hashChunk` accepts (default all).
   */
  readonly digests?: ChunkDigests;
  readonly hashChunk?: (index: number) => boolean;
  /**
   * Told each time every byte of the destination below `end` is written
   * (holes included: they need no write), in increasing order. A snapshot
   * image passes PendingImage.written, which hands those bytes to the disk
   * while the copy goes on: the copy and the disk then work at the same
   * time, instead of one after the other.
   */
  readonly onWritten?: (end: number) => void;
  /**
   * Writes bytes to the destination (all `length` bytes of `buf[offset..]`
   * at `position`); by default pwrite(2) on `to`. A snapshot image passes
   * its own (PendingImage.write), so its writes go through the store.
   */
  readonly write?: (buf: Uint8Array, offset: number, length: number, position: number) => Promise<void>;
  /** Awaited after each step is under way (a test hook that slows the copy down). */
  readonly afterStep?: (offset: number, length: number) => Promise<void> | void;
}

/**
 * Copies [start, end) of file `from` to the same offsets of file `to`,
 * skipping holes. Returns the number of data bytes copied. Every write has
 * completed when it returns. Failures are CopyErrors saying which side
 * failed.
 */
export async function copySparse(from: number, to: number, start: number, end: number, options: SparseCopyOptions): Promise<{ bytesCopied: number }> {
  const { size, destination, destinationBase = 0, digests, hashChunk, onWritten, afterStep } = options;
  const put = options.write ?? ((buf: Uint8Array, offset: number, length: number, position: number) => writeFully(to, buf, offset, length, position));
  const buffers: Array<Uint8Array | null> = new Array(DEPTH).fill(null);
  // Each step in flight; it resolves to its failure, never rejects, so that
  // a failing step is not an unhandled rejection while the next one starts.
  const inFlight: Array<Promise<unknown> | null> = new Array(DEPTH).fill(null);
  const stepStarts: number[] = new Array(DEPTH).fill(start);
  const stepEnds: number[] = new Array(DEPTH).fill(start);
  // Every byte below `written` is written. Steps need not complete in
  // order (a step's slot is settled only when a later step reuses it), so
  // it is the start of the oldest step still in flight, or the end of the
  // last one settled when none is.
  let written = start;
  let settledEnd = start;
  const settle = async (k: number): Promise<void> => {
    const pending = inFlight[k];
    inFlight[k] = null;
    const err = pending ? await pending : null;
    if (err) throw err;
    settledEnd = Math.max(settledEnd, stepEnds[k]!);
    let frontier = settledEnd;
    for (let j = 0; j < DEPTH; j++) if (inFlight[j] !== null) frontier = Math.min(frontier, stepStarts[j]!);
    if (frontier > written) {
      written = frontier;
      onWritten?.(written);
    }
  };
  let bytesCopied = 0;
  // Where the data is, looked up once: on a memory file SEEK_HOLE walks the
  // pages of the run it starts in, so a lookup per step would cost O(n^2).
  // Pages written after this look-up are copied as the holes they were.
  const cursor = new RunCursor(dataRuns(from, start, end));
  try {
    for (let a = start, step = 0; a < end; step++) {
      const chunkStart = Math.floor(a / STEP) * STEP;
      const b = Math.min(chunkStart + STEP, size, end);
      const index = chunkStart / STEP;
      // Hashed when the step covers whole chunks of the digests' grid.
      const grid = digests?.chunkSize ?? STEP;
      const whole = a % grid === 0 && (b % grid === 0 || b === size);
      const runs = cursor.within(a, b);
      const hash = digests !== undefined && whole && (hashChunk?.(index) ?? true);
      if (runs.length === 0) {
        if (hash) digests.setRange(a, b, NOTHING, [], a);
      } else {
        const k = step % DEPTH;
        await settle(k);
        stepStarts[k] = a;
        stepEnds[k] = b;
        const step0 = a; // `a` moves on before this step completes
        const work = destination
          ? intoMapping(from, destination, destinationBase, runs, hash ? (d) => d.setRange(step0, b, destination, runs, destinationBase) : null, digests)
          : throughBuffer(from, put, (buffers[k] ??= new Uint8Array(STEP)), step0, b, runs, hash ? (d, buf) => d.setRange(step0, b, buf, runs, step0) : null, digests);
        inFlight[k] = work.then(() => null, (err: unknown) => err);
        for (const [r0, r1] of runs) bytesCopied += r1 - r0;
      }
      if (afterStep) await afterStep(a, b - a);
      a = b;
    }
    for (let k = 0; k < DEPTH; k++) await settle(k);
  } finally {
    // On failure too, let the steps still in flight finish before the
    // caller closes or removes the destination.
    await Promise.all(inFlight);
  }
  return { bytesCopied };
}

type HashStep<V> = ((digests: ChunkDigests, view: V) => void) | null;

/** One step through a buffer: read the runs, hash (holes as zeros), write the runs. */
async function throughBuffer(
  from: number, put: NonNullable<SparseCopyOptions['write']>, buffer: Uint8Array, a: number, b: number, runs: Run[],
  hash: HashStep<Uint8Array>, digests: ChunkDigests | undefined,
): Promise<void> {
  const buf = buffer.subarray(0, b - a);
  for (const [r0, r1] of runs) await read(from, buf, r0 - a, r1 - r0, r0);
  if (hash && digests) hash(digests, buf);
  for (const [w0, w1] of runs) await write(put, buf, w0 - a, w1 - w0, w0);
}

/** One step straight into the destination's mapping window, which starts at file offset `base` (its holes read as zeros already). */
async function intoMapping(
  from: number, destination: Uint8Array, base: number, runs: Run[],
  hash: HashStep<Uint8Array>, digests: ChunkDigests | undefined,
): Promise<void> {
  for (const [r0, r1] of runs) await read(from, destination, r0 - base, r1 - r0, r0);
  if (hash && digests) hash(digests, destination);
}

async function read(fd: number, into: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  try {
    await readFully(fd, into, offset, length, position);
  } catch (err) {
    throw new CopyError('read', err);
  }
}

async function write(put: NonNullable<SparseCopyOptions['write']>, from: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  try {
    await put(from, offset, length, position);
  } catch (err) {
    throw new CopyError('write', err);
  }
}

/**
 * Writes zeros over whatever data [start, end) of `fd` holds, so that the
 * range reads as zeros (for a destination that held data before a copy).
 */
export async function zeroData(fd: number, start: number, end: number): Promise<void> {
  const zeros = new Uint8Array(STEP);
  for (const [r0, r1] of dataRuns(fd, start, end)) {
    for (let p = r0; p < r1; p += STEP) await writeFully(fd, zeros, 0, Math.min(STEP, r1 - p), p);
  }
}
