// When to restart a child that ended, and after how long.
import type { ChildExit } from './child-process.js';
import { ownName, type OptionName } from './options.js';

/** The default longest restart delay (`restart.maxDelayMs`), however often the child failed. */
export const MAX_RESTART_DELAY_MS = 30_000;
/** A child that ran this long is stable: the next restart comes after the first delay again. */
export const STABLE_AFTER_MS = 10_000;

export type RestartMode = 'never' | 'on-failure' | 'always';

export interface RestartPolicyOptions {
  readonly mode: RestartMode;
  /** Give up after this many restarts within `windowMs`. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /**
   * First delay; doubles after each quick failure, up to `maxDelayMs`
   * (at least `initialDelayMs`; equal means a constant delay, as systemd's
   * RestartSec= without RestartSteps=, or pm2's restart_delay).
   */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** A child that ran at least this long resets the delay. */
  readonly stableAfterMs: number;
}

export type RestartDecision =
  | { readonly restart: true; readonly delayMs: number; readonly count: number }
  | { readonly restart: false; readonly why: 'policy' | 'clean-exit' | 'too-many'; readonly message: string };

/**
 * The policy for `mode` with the host's defaults: delays start at
 * `initialDelayMs`, double up to `maxDelayMs` (default MAX_RESTART_DELAY_MS,
 * or the first delay if that is longer) and go back to the first once a
 * child ran STABLE_AFTER_MS.
 */
export function restartPolicyOptions(
  options: Pick<RestartPolicyOptions, 'mode' | 'maxRestarts' | 'windowMs' | 'initialDelayMs'> & { readonly maxDelayMs?: number },
): RestartPolicyOptions {
  return {
    ...options,
    maxDelayMs: options.maxDelayMs ?? Math.max(MAX_RESTART_DELAY_MS, options.initialDelayMs),
    stableAfterMs: STABLE_AFTER_MS,
  };
}

/** Decides, child exit by child exit, whether and when to restart. Pure apart from the times it is given. */
export class RestartPolicy {
  readonly options: RestartPolicyOptions;
  #restarts: number[] = [];
  #delayMs: number;
  #total = 0;

  readonly #name: OptionName;

  /** `optionName` names the options in messages, by their path in SupervisorOptions (`restart.maxRestarts`). */
  constructor(options: RestartPolicyOptions, optionName: OptionName = ownName) {
    this.options = options;
    this.#name = optionName;
    this.#delayMs = options.initialDelayMs;
  }

  /**
   * `now` is a monotonic time in ms (performance.now()): the window must not
   * move with steps of the wall clock. `exit.ranMs` is measured the same way.
   */
  decide(exit: Pick<ChildExit, 'code' | 'signal' | 'ranMs'>, now: number): RestartDecision {
    const failed = exit.signal !== null || exit.code !== 0;
    const { mode, maxRestarts, windowMs } = this.options;
    const name = this.#name;
    if (mode === 'never') return { restart: false, why: 'policy', message: `not restarting (${name('restart.mode')} never)` };
    if (mode === 'on-failure' && !failed) return { restart: false, why: 'clean-exit', message: `the child exited with code 0; not restarting (${name('restart.mode')} on-failure)` };
    this.#restarts = this.#restarts.filter((t) => now - t < windowMs);
    if (this.#restarts.length >= maxRestarts) {
      return {
        restart: false,
        why: 'too-many',
        message: `giving up: the child was restarted ${this.#restarts.length} times within ${windowMs / 1000}s (fix the child, or raise ${name('restart.maxRestarts')} / shorten ${name('restart.windowMs')})`,
      };
    }
    if (exit.ranMs >= this.options.stableAfterMs) this.#delayMs = this.options.initialDelayMs;
    const delayMs = this.#delayMs;
    this.#delayMs = Math.min(this.#delayMs * 2, this.options.maxDelayMs);
    this.#restarts.push(now);
    this.#total += 1;
    return { restart: true, delayMs, count: this.#total };
  }
}
