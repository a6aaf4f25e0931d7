// What supervise() takes, checked before anything starts, as attach() checks its own.
import { MAX_CHAIN_LIMITS } from '../store/index.js';
import type { Logger } from './logger.js';
import type { RestartPolicyOptions } from './restart-policy.js';

/** Where and how to replicate generations (docs/REPLICA.md). Credentials come from the AWS SDK's default chain only. */
export interface ReplicaOptions {
  /** `s3://BUCKET/PREFIX` or `file:///path`. */
  readonly url: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  /** Generations kept on the replica (at least 1; default 8). */
  readonly keep?: number;
  /** Also keep every generation younger than this many ms (default 0). */
  readonly keepForMs?: number;
  /** Replace another live host's writer lease. */
  readonly takeover?: boolean;
}

export interface SupervisorOptions {
  readonly dir: string;
  /** Size of a new shared file in bytes (never smaller than the image restored into it). */
  readonly size: number;
  /** Time between interval captures in ms; 0 = only post-mortem and shutdown captures. */
  readonly intervalMs: number;
  /** Generations retention keeps (at least 2), with every generation they depend on. */
  readonly keep: number;
  /**
   * When a capture writes a full generation instead of a delta
   * (docs/FORMAT.md, section 9): more than `maxChain` deltas (0..1000,
   * default 10), or deltas holding `maxChainRatio` (0..10, default 0.25)
   * times the image size or more; either 0 = every generation full.
   */
  readonly chain?: { readonly maxChain?: number; readonly maxChainRatio?: number };
  readonly restart: RestartPolicyOptions;
  /** After forwarding a stop signal, SIGKILL the child's group after this many ms. */
  readonly stopTimeoutMs: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** Serve `status` and `snapshot` on a unix socket in the snapshot directory (default true). */
  readonly controlChannel?: boolean;
  /** Replicate every durable generation; restore an empty `dir` from it. */
  readonly replica?: ReplicaOptions;
  /**
   * How log lines name an option of these options when they say what to
   * change (`raise restart.maxRestarts`, `forced after stopTimeoutMs`, a
   * replica failure's `replica.takeover`): given the option's path in this
   * object, returns the words to print. Default: the path itself. A command
   * line passes its flags (`--max-restarts`).
   */
  readonly optionName?: OptionName;
}

/** Names an option for messages, given its path in SupervisorOptions (`restart.windowMs`). */
export type OptionName = (option: string) => string;

/** The default OptionName: the option's own path. */
export const ownName: OptionName = (option) => option;

/** The smallest shared file: a header page, an entry ring page and a data ring page. */
const MIN_SIZE = 3 * 4096;
const MODES = ['never', 'on-failure', 'always'];

const isCount = (v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
/** The longest timer: setTimeout() takes a 32-bit signed count of ms and fires after 1 ms past it (Node's TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Throws a TypeError or RangeError naming the first option that is wrong
 * (a programming error of the caller: the CLI validates what users type).
 */
export function validateSupervisorOptions(options: SupervisorOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('supervise() needs an options object');
  if (typeof options.dir !== 'string' || options.dir === '') throw new TypeError('options.dir must be a directory path');
  if (typeof options.command !== 'string' || options.command === '') throw new TypeError('options.command must name the program to run');
  if (!Array.isArray(options.args) || !options.args.every((a) => typeof a === 'string')) throw new TypeError('options.args must be an array of strings');
  if (typeof options.logger?.log !== 'function') throw new TypeError('options.logger must have a log() method (see createLogger())');
  if (options.optionName !== undefined && typeof options.optionName !== 'function') throw new TypeError('options.optionName must be a function from an option path to its name');
  if (!isCount(options.size, MIN_SIZE)) throw new RangeError(`options.size must be a whole number of bytes, at least ${MIN_SIZE}; got ${options.size}`);
  if (!isCount(options.intervalMs, 0, MAX_TIMER_MS)) throw new RangeError(`options.intervalMs must be a whole number of ms from 0 to ${MAX_TIMER_MS} (0: no interval captures); got ${options.intervalMs}`);
  if (!isCount(options.keep, 2)) throw new RangeError(`options.keep must be a whole number of generations, at least 2; got ${options.keep}`);
  const chain = options.chain ?? {};
  const { maxChain, maxChainRatio } = MAX_CHAIN_LIMITS;
  if (chain.maxChain !== undefined && !isCount(chain.maxChain, 0, maxChain)) throw new RangeError(`options.chain.maxChain must be a whole number of deltas from 0 to ${maxChain}; got ${chain.maxChain}`);
  if (chain.maxChainRatio !== undefined && !(typeof chain.maxChainRatio === 'number' && chain.maxChainRatio >= 0 && chain.maxChainRatio <= maxChainRatio)) {
    throw new RangeError(`options.chain.maxChainRatio must be a fraction of the image size from 0 to ${maxChainRatio}; got ${chain.maxChainRatio}`);
  }
  if (!isCount(options.stopTimeoutMs, 0, MAX_TIMER_MS)) throw new RangeError(`options.stopTimeoutMs must be a whole number of ms from 0 to ${MAX_TIMER_MS}; got ${options.stopTimeoutMs}`);
  validateReplicaOptions(options.replica);
  const r = options.restart;
  if (typeof r !== 'object' || r === null || !MODES.includes(r.mode)) throw new TypeError(`options.restart.mode must be one of ${MODES.join(', ')}`);
  for (const [name, min, max] of [['maxRestarts', 0], ['windowMs', 1], ['initialDelayMs', 0, MAX_TIMER_MS], ['maxDelayMs', 0, MAX_TIMER_MS], ['stableAfterMs', 0]] as const) {
    if (!isCount(r[name], min, max)) throw new RangeError(`options.restart.${name} must be a whole number ${max === undefined ? `of at least ${min}` : `from ${min} to ${max}`}; got ${r[name]}`);
  }
  if (r.maxDelayMs < r.initialDelayMs) {
    throw new RangeError(`options.restart.maxDelayMs (${r.maxDelayMs}) must be at least initialDelayMs (${r.initialDelayMs}); equal means a constant delay`);
  }
}

function validateReplicaOptions(replica: ReplicaOptions | undefined): void {
  if (replica === undefined) return;
  if (typeof replica !== 'object' || replica === null || typeof replica.url !== 'string' || !/^(s3|file):\/\//.test(replica.url)) {
    throw new TypeError('options.replica.url must be s3://BUCKET/PREFIX or file:///path');
  }
  for (const k of ['endpoint', 'region'] as const) {
    if (replica[k] !== undefined && (typeof replica[k] !== 'string' || replica[k] === '')) throw new TypeError(`options.replica.${k} must be a non-empty string`);
  }
  for (const k of ['forcePathStyle', 'takeover'] as const) {
    if (replica[k] !== undefined && typeof replica[k] !== 'boolean') throw new TypeError(`options.replica.${k} must be a boolean`);
  }
  if (replica.keep !== undefined && !isCount(replica.keep, 1)) throw new RangeError(`options.replica.keep must be a whole number of generations, at least 1; got ${replica.keep}`);
  if (replica.keepForMs !== undefined && !isCount(replica.keepForMs)) throw new RangeError(`options.replica.keepForMs must be a whole number of ms; got ${replica.keepForMs}`);
}

/**
 * The chain limits a host's store uses: `options.chain` over the store's
 * defaults (a full generation past 10 deltas, or once the chain's deltas
 * hold a quarter of the image; either limit 0 writes every generation full).
 */
export function hostChainLimits(options: Pick<SupervisorOptions, 'chain'>): { maxChain?: number; maxChainRatio?: number } {
  return { ...options.chain };
}
