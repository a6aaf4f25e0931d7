// The host's captures, one at a time: two captures at once would only
// compete for the same disk, and a file must not be closed or replaced
// while a capture still reads it. Each capture is logged and counted in
// the host's state.
import { CaptureError, capture, type CaptureResult, type KeptMapping } from '../live/index.js';
import type { Reason, SnapshotStore } from '../store/index.js';
import type { HostState } from './host-state.js';
import { humanBytes } from '../human-bytes.js';
import type { Logger } from './logger.js';

/** How a post-mortem or shutdown capture ended, as the supervisor acts on it. */
export type CaptureOutcome =
  /** Stored: the newest generation holds the file. */
  | { kind: 'stored'; result: CaptureResult }
  /** The disk refused it (full, read-only): only the old file holds the state. */
  | { kind: 'io-error' }
  /** The file broke the format: the previous generation stays the newest. */
  | { kind: 'rejected' };

export class CaptureQueue {
  #chain: Promise<unknown> = Promise.resolve();
  readonly #store: SnapshotStore;
  readonly #log: Logger;
  readonly #state: HostState;
  /** Told about every generation stored (the replica offers it); must return at once. */
  onStored: (result: CaptureResult) => void = () => {};
  /** The mapping kept of a live file between its captures, if any (SharedFiles keeps one per file it uses). */
  keptMapping: (fd: number) => KeptMapping | undefined = () => undefined;

  constructor(store: SnapshotStore, log: Logger, state: HostState) {
    this.#store = store;
    this.#log = log;
    this.#state = state;
  }

  /** Runs `task` after every task queued before it, one at a time. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(task, task);
    this.#chain = next.catch(() => {});
    return next;
  }

  /** Resolves once every task queued so far has ended. */
  drained(): Promise<unknown> {
    return this.#chain;
  }

  /** Captures `fd` now (call only inside exclusive); logs a failure and rethrows it. */
  async captureNow(fd: number, reason: Reason, postMortem: boolean): Promise<CaptureResult> {
    try {
      const result = await capture(fd, this.#store, reason, { postMortem, kept: this.keptMapping(fd) });
      this.#state.captured(result, reason);
      this.onStored(result);
      // A delta that could not be written is said for every capture; interval
      // captures are otherwise routine (the live channel's status shows the last one).
      if (result.fullBecause !== null) this.#log.log('warn', 'full-generation', result.fullBecause, { sequence: result.generation.manifest.sequence });
      if (reason !== 'interval') this.#logCaptured(result, reason);
      return result;
    } catch (err) {
      this.#logFailure(err, reason);
      if (err instanceof CaptureError && err.kind === 'starved') this.#state.starvedCaptures += 1;
      throw err;
    }
  }

  /** The exact capture of `fd` once nothing writes it any more (call only inside exclusive). */
  async finalCaptureNow(fd: number, reason: Reason): Promise<CaptureOutcome> {
    try {
      return { kind: 'stored', result: await this.captureNow(fd, reason, true) };
    } catch (err) {
      if (err instanceof CaptureError && err.kind !== 'io') return { kind: 'rejected' };
      // The disk, or an unexpected failure: carry the memory over rather than lose it.
      return { kind: 'io-error' };
    }
  }

  #logCaptured(result: CaptureResult, reason: Reason): void {
    const m = result.generation.manifest;
    // A delta's size is what it cost on disk; a full image's, the data copied from memory.
    const what = m.delta === null ? `full, ${humanBytes(result.bytesCopied)} copied` : `a delta of ${m.parent}, ${humanBytes(m.delta.fileBytes)} written`;
    this.#log.log('info', 'captured', `captured generation ${m.sequence} (${reason}): ${m.records} records, ${what} in ${Math.round(result.durationMs)} ms`, {
      sequence: m.sequence, reason, kind: m.kind, parent: m.parent, records: m.records, bytes: result.bytesCopied, fileBytes: m.delta?.fileBytes ?? m.imageSize,
      durationMs: result.durationMs, latestOffset: m.latest?.offset ?? null,
    });
  }

  #logFailure(err: unknown, reason: Reason): void {
    const message = err instanceof Error ? err.message : String(err);
    const kind = err instanceof CaptureError ? err.kind : 'internal';
    this.#log.log('error', 'capture-failed', `${reason} capture failed: ${message}`, { reason, kind });
  }
}
