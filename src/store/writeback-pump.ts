// Handing a file's bytes to the disk while the rest is still being written,
// so that the fsync that makes the file durable has little left to do.
import type { StoreFs } from './fs.js';

/**
 * Asks StoreFs.startWriteback (sync_file_range(2) SYNC_FILE_RANGE_WRITE)
 * for the bytes of `fd` written so far, one request at a time: what is
 * written while one is in flight goes into the next, merged. One request
 * at a time because each may block while the device's queue is full, on
 * the thread pool the file's own writes and fsync use. A request that
 * fails or throws costs only the head start: fsync reports real errors.
 */
export class WritebackPump {
  readonly #sfs: StoreFs;
  readonly #fd: number;
  /** Bytes [start, #requested) have been asked for; [#requested, #written) are written and not yet. */
  #requested: number;
  #written: number;
  #inFlight: Promise<void> | null = null;

  /** For `fd`, whose bytes from `start` on are written in order. */
  constructor(sfs: StoreFs, fd: number, start: number) {
    this.#sfs = sfs;
    this.#fd = fd;
    this.#requested = start;
    this.#written = start;
  }

  /** Bytes up to offset `end` are written (their write has completed). */
  written(end: number): void {
    this.#written = Math.max(this.#written, end);
    this.#pump();
  }

  /** Resolves once no request is in flight: before the file is fsynced or closed. */
  async idle(): Promise<void> {
    while (this.#inFlight !== null) await this.#inFlight;
  }

  #pump(): void {
    if (this.#sfs.startWriteback === undefined || this.#inFlight !== null || this.#written <= this.#requested) return;
    const from = this.#requested;
    this.#requested = this.#written;
    let request: Promise<unknown>;
    try {
      request = this.#sfs.startWriteback(this.#fd, from, this.#requested - from);
    } catch {
      request = Promise.resolve(false);
    }
    this.#inFlight = request.then(() => {}, () => {}).then(() => {
      this.#inFlight = null;
      this.#pump();
    });
  }
}
