// Delays between attempts after a failure: doubling from `firstMs` up to
// `maxMs`, with +-20% jitter so that hosts sharing a server spread out.

export interface BackoffOptions {
  /** Delay after the first failure, in ms. Default 500. */
  firstMs?: number;
  /** Largest delay, in ms. Default 30 000. */
  maxMs?: number;
}

export class Backoff {
  readonly #first: number;
  readonly #max: number;
  #failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.#first = options.firstMs ?? 500;
    this.#max = options.maxMs ?? 30_000;
  }

  /** The delay before the next attempt, in ms, counting one more failure. */
  next(): number {
    const base = Math.min(this.#max, this.#first * 2 ** Math.min(this.#failures, 30));
    this.#failures += 1;
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  }

  /** After a success: the next failure waits `firstMs` again. */
  reset(): void {
    this.#failures = 0;
  }
}
