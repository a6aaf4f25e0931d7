// Waiting until the host has made a record durable (docs/FORMAT.md section 5).
// Nothing here runs on the commit path, and nothing runs at all while nobody
// waits: a timer polls the host's word only while a waiter exists.
//
// Why a timer and not futex(2): the C and Python clients sleep in FUTEX_WAIT
// on durable_offset, which the host wakes. Node cannot block its only thread,
// and a futex wait in the libuv thread pool would hold one of its four
// threads for as long as anyone waits (starving fs calls); a 1 ms poll of
// two words costs little and resolves within about a millisecond.
//
// SharedState.replicated(offset) is a second CoverageWaiters over the
// replicated_offset word.

const POLL_MS = 1;

/** How to wait: an AbortSignal rejects the wait with its reason (e.g. AbortSignal.timeout(ms)). */
export interface DurableOptions {
  signal?: AbortSignal;
}

interface Waiter {
  offset: bigint;
  resolve(covered: bigint): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Stream offset as a bigint, or a TypeError naming what it got. */
export function streamOffset(offset: unknown): bigint {
  if (typeof offset === 'bigint' && offset >= 0n) return offset;
  if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) return BigInt(offset);
  throw new TypeError(`a record's stream offset (what commit() returned, a bigint >= 0) was expected, got ${typeof offset} ${String(offset)}`);
}

/**
 * Promises that resolve once a host word (`read()`, a u64 stream offset that
 * never goes backwards) has passed a record's offset.
 */
export class CoverageWaiters {
  #read: () => bigint;
  #waiters = new Set<Waiter>();
  #timer: NodeJS.Timeout | null = null;

  constructor(read: () => bigint) {
    this.#read = read;
  }

  /** Number of pending waits (0 means no timer runs). */
  get pending(): number {
    return this.#waiters.size;
  }

  /** Resolves with the word's value once it is greater than `offset`. */
  wait(offset: bigint, options: DurableOptions = {}): Promise<bigint> {
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
    const now = this.#read();
    if (now > offset) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<bigint>((resolve, reject) => {
      const waiter: Waiter = {
        offset,
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.#remove(waiter);
          reject(signal!.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
      this.#timer ??= setInterval(() => this.#poll(), POLL_MS);
    });
  }

  #remove(waiter: Waiter): void {
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    this.#waiters.delete(waiter);
    if (this.#waiters.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  #poll(): void {
    let now: bigint;
    try {
      now = this.#read();
    } catch (err) {
      this.rejectAll(err);
      return;
    }
    for (const w of this.#waiters) {
      if (now > w.offset) {
        this.#remove(w);
        w.resolve(now);
      }
    }
  }

  /** Rejects every pending wait with `reason` (the state is closing). */
  rejectAll(reason: unknown): void {
    for (const w of this.#waiters) {
      this.#remove(w);
      w.reject(reason);
    }
  }
}
