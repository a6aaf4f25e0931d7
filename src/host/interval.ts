// The interval schedule: a capture every interval while the child runs,
// skipped while it commits nothing, backing off while captures fail.
import type { HostState } from './host-state.js';

// Failing captures (disk full, read-only) back off, but not so far that a
// directory which recovered goes unnoticed for long.
export const MAX_CAPTURE_BACKOFF_MS = 5_000;

/**
 * The delay before the next interval capture after `failures` failed ones
 * in a row (0: the interval itself): doubling, capped at 5 s, or at the
 * interval when that is longer.
 */
export function captureBackoffMs(intervalMs: number, failures: number): number {
  if (failures === 0) return intervalMs;
  return Math.min(intervalMs * 2 ** failures, Math.max(MAX_CAPTURE_BACKOFF_MS, intervalMs));
}

/** What a tick asks of the supervisor. */
export interface IntervalHooks {
  /** The child running now (compared by identity), or null. */
  child(): unknown;
  /** True when the child committed since the last capture (its write offset moved). */
  committedSince(): boolean;
  /** An interval capture; rejects when it stored nothing. */
  capture(): Promise<unknown>;
}

export class IntervalSchedule {
  readonly #intervalMs: number;
  readonly #state: HostState;
  readonly #hooks: IntervalHooks;
  #timer: NodeJS.Timeout | null = null;
  #failures = 0;

  constructor(intervalMs: number, state: HostState, hooks: IntervalHooks) {
    this.#intervalMs = intervalMs;
    this.#state = state;
    this.#hooks = hooks;
  }

  /** Starts the schedule for a child that just started (no-op for interval 0). */
  start(): void {
    if (this.#intervalMs <= 0) return;
    this.#schedule(this.#intervalMs);
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#state.nextCaptureDue = null;
  }

  #schedule(delayMs: number): void {
    this.stop();
    this.#state.nextCaptureDue = Date.now() + delayMs;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    const child = this.#hooks.child();
    if (child === null) return;
    // An idle (or never attached) child costs neither disk nor CPU.
    if (this.#hooks.committedSince()) {
      try {
        await this.#hooks.capture();
        this.#failures = 0;
      } catch {
        this.#failures += 1;
      }
    }
    if (this.#hooks.child() === child) this.#schedule(captureBackoffMs(this.#intervalMs, this.#failures));
  }
}
