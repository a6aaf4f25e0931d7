// Parsing and validating the `run` command's options: each bad value gets
// one line naming the option, what is wrong and an example that works.
import type { RestartMode } from '../host/index.js';
import { UsageError } from './errors.js';
import { REPLICA_CONNECTION_OPTIONS, checkReplicaUrl } from './replica-options.js';
import { MAX_TIMER, decimalNumber, parseDuration, parseSize, parseTimer, wholeNumber } from './values.js';

/**
 * The store's bounds (MAX_CHAIN_LIMITS, MIN_KEEP), restated: this file is
 * on the path main.ts imports statically, and importing the store here
 * would load it, and the layout's endianness check with it, before main()
 * can report that check's error in one line (test/bin/big-endian.ts).
 * test/cli/option-ranges.ts holds them equal to the store's.
 */
export const STORE_BOUNDS = { maxChain: 1000, maxChainRatio: 10, minKeep: 2 } as const;
const MAX_CHAIN = STORE_BOUNDS.maxChain;
const MAX_RATIO = STORE_BOUNDS.maxChainRatio;
const MIN_KEEP = STORE_BOUNDS.minKeep;
const TIMER = `0 to ${MAX_TIMER.text}`;

/**
 * The run command's options besides --dir, as yargs declares them: one
 * table for the yargs parser (--help, errors) and for the fast path that
 * starts a host without loading yargs (fast-run.ts).
 */
export const RUN_OPTIONS = {
  size: { type: 'string', requiresArg: true, default: '64M', describe: 'Size of the shared file: 12K to 1T (K, M, G, T: binary units); never smaller than the snapshot restored' },
  interval: { type: 'string', requiresArg: true, default: '1s', describe: `Time between captures, with a unit: ms, s, m, h or d (1s, 250ms), ${TIMER}; 0 = only when the child dies or the host stops` },
  keep: { type: 'string', requiresArg: true, default: '3', describe: `Snapshot generations kept (at least ${MIN_KEEP}), with the generations they depend on` },
  'max-chain': { type: 'string', requiresArg: true, default: '10', describe: `Delta generations between two full ones (0 to ${MAX_CHAIN}; 0: every generation full); a delta stores only the 4 KiB blocks changed since the generation before it` },
  'max-chain-ratio': { type: 'string', requiresArg: true, default: '0.25', describe: `Write a full generation instead of a delta once the delta files of the chain hold this fraction of the image size (0 to ${MAX_RATIO}; 0: every generation full)` },
  restart: { type: 'string', requiresArg: true, default: 'on-failure', describe: 'When to restart the child: never, on-failure (a signal or a non-zero exit), always' },
  'max-restarts': { type: 'string', requiresArg: true, default: '10', describe: 'Give up after this many restarts within --restart-window (0 or more; 0: at the first failure)' },
  'restart-window': { type: 'string', requiresArg: true, default: '60s', describe: 'The window --max-restarts counts in (longer than 0)' },
  'restart-delay': { type: 'string', requiresArg: true, default: '100ms', describe: `First restart delay, ${TIMER} (systemd RestartSec=, pm2 restart_delay); doubles after each quick failure up to --restart-max-delay, back to this once the child ran 10s` },
  'restart-max-delay': { type: 'string', requiresArg: true, defaultDescription: '30s', describe: `Longest restart delay, --restart-delay to ${MAX_TIMER.text} (systemd RestartMaxDelaySec= with RestartSteps=, pm2 exp_backoff_restart_delay); equal to --restart-delay: a constant delay` },
  'stop-timeout': { type: 'string', requiresArg: true, default: '10s', describe: `On SIGTERM/SIGINT/SIGHUP: send it to the child's process group, SIGKILL the group if any member still runs this long after (${TIMER})` },
  'log-format': { type: 'string', requiresArg: true, default: 'text', describe: 'text, or json (one JSON object per line on stderr)' },
  quiet: { type: 'boolean', default: false, describe: 'Log only errors' },
  replica: { type: 'string', requiresArg: true, describe: 'Replicate every durable generation to s3://BUCKET/PREFIX or file:///path; an empty --dir is restored from it (docs/REPLICA.md). Credentials: the AWS SDK default chain only' },
  ...REPLICA_CONNECTION_OPTIONS,
  'replica-keep': { type: 'string', requiresArg: true, defaultDescription: '8', describe: 'Generations kept on the replica (at least 1)' },
  'replica-keep-for': { type: 'string', requiresArg: true, defaultDescription: '0', describe: 'Also keep every replicated generation younger than this (s, m, h, d; 0 or more)' },
  'replica-takeover': { type: 'boolean', describe: "Replace another live host's writer lease on the replica prefix" },
} as const;

export interface RunOptions {
  readonly dir: string;
  readonly size: number;
  readonly intervalMs: number;
  readonly keep: number;
  readonly maxChain: number;
  readonly maxChainRatio: number;
  readonly restart: RestartMode;
  readonly maxRestarts: number;
  readonly restartWindowMs: number;
  readonly restartDelayMs: number;
  /** undefined: the host's default (MAX_RESTART_DELAY_MS, or the first delay when longer). */
  readonly restartMaxDelayMs: number | undefined;
  readonly stopTimeoutMs: number;
  readonly logFormat: 'text' | 'json';
  readonly quiet: boolean;
  readonly command: string;
  readonly args: string[];
  /** --replica and its options; credentials come only from the AWS SDK's default chain. */
  readonly replica?: {
    url: string; endpoint?: string; region?: string; forcePathStyle?: boolean; keep?: number; keepForMs?: number; takeover: boolean;
  };
}

export interface RawRunOptions {
  // As yargs parsed them: strings, validated here.
  dir: string;
  size: string;
  interval: string;
  keep: string | number;
  'max-chain': string | number;
  'max-chain-ratio': string | number;
  restart: string;
  'max-restarts': string | number;
  'restart-window': string;
  'restart-delay': string;
  /** Unset: 30s, or --restart-delay when that is longer. */
  'restart-max-delay'?: string;
  'stop-timeout': string;
  'log-format': string;
  quiet: boolean;
  command: string[];
  replica?: string;
  'replica-endpoint'?: string;
  'replica-region'?: string;
  'replica-path-style'?: boolean;
  'replica-keep'?: string;
  'replica-keep-for'?: string;
  'replica-takeover'?: boolean;
}

const MIN_SIZE = 3 * 4096;
const MAX_SIZE = 2 ** 40;

/** Validates what yargs parsed into the options a Supervisor takes. */
export function interpretRunOptions(raw: RawRunOptions): RunOptions {
  const size = parseSize('--size', raw.size);
  if (size < MIN_SIZE || size > MAX_SIZE) throw new UsageError(`--size ${raw.size}: out of range`, 'give between 12K (a header page, an entry ring and a data ring) and 1T, e.g. --size 64M');
  if (!['never', 'on-failure', 'always'].includes(raw.restart)) {
    throw new UsageError(`--restart ${raw.restart}: unknown policy`, 'use never, on-failure or always');
  }
  if (!['text', 'json'].includes(raw['log-format'])) throw new UsageError(`--log-format ${raw['log-format']}: unknown format`, 'use text or json');
  const keep = wholeNumber('--keep', raw.keep, MIN_KEEP);
  const maxChain = wholeNumber('--max-chain', raw['max-chain'], 0, MAX_CHAIN);
  const maxChainRatio = decimalNumber('--max-chain-ratio', raw['max-chain-ratio'], {
    min: 0, max: MAX_RATIO, what: 'a fraction of the image size', example: 'write a plain decimal, e.g. --max-chain-ratio 0.25 (0: every generation full)',
  });
  const restartDelayMs = parseTimer('--restart-delay', raw['restart-delay']);
  const rawMax = raw['restart-max-delay'];
  // Not given: undefined, and the host's restart policy applies its own default (restartPolicyOptions()).
  const restartMaxDelayMs = rawMax === undefined ? undefined : parseTimer('--restart-max-delay', rawMax);
  if (restartMaxDelayMs !== undefined && restartMaxDelayMs < restartDelayMs) {
    throw new UsageError(`--restart-max-delay ${rawMax}: shorter than --restart-delay ${raw['restart-delay']}`, `give at least the first delay; equal means a constant delay, e.g. --restart-delay ${raw['restart-delay']} --restart-max-delay ${raw['restart-delay']}`);
  }
  const restartWindowMs = parseDuration('--restart-window', raw['restart-window']);
  if (restartWindowMs <= 0) throw new UsageError(`--restart-window ${raw['restart-window']}: must be longer than 0`, 'e.g. --restart-window 60s');
  // The options first: `--size -5M` without a command is about the size.
  const stopTimeoutMs = parseTimer('--stop-timeout', raw['stop-timeout']);
  const intervalMs = parseTimer('--interval', raw.interval);
  const maxRestarts = wholeNumber('--max-restarts', raw['max-restarts'], 0);
  const [command, ...args] = raw.command;
  if (command === undefined || command === '') {
    throw new UsageError('no command to run', 'put it after --, e.g. shm-host --dir ./state -- node app.js');
  }
  return {
    dir: raw.dir,
    size,
    intervalMs,
    keep,
    maxChain,
    maxChainRatio,
    restart: raw.restart as RestartMode,
    maxRestarts,
    restartWindowMs,
    restartDelayMs,
    restartMaxDelayMs,
    stopTimeoutMs,
    logFormat: raw['log-format'] as 'text' | 'json',
    quiet: raw.quiet,
    command,
    args,
    ...replicaOptions(raw),
  };
}

const REPLICA_ONLY = ['replica-endpoint', 'replica-region', 'replica-path-style', 'replica-keep', 'replica-keep-for', 'replica-takeover'] as const;

/** --replica and its companions; a companion without --replica is refused (it would silently do nothing). */
function replicaOptions(raw: RawRunOptions): Pick<RunOptions, 'replica'> {
  const url = raw.replica;
  if (url === undefined) {
    const stray = REPLICA_ONLY.find((k) => raw[k] !== undefined && raw[k] !== false);
    if (stray !== undefined) throw new UsageError(`--${stray} without --replica`, 'give the replica too, e.g. --replica s3://bucket/prefix');
    return {};
  }
  const replica: NonNullable<RunOptions['replica']> = {
    url: checkReplicaUrl('--replica', url),
    // Unset: undefined, and the replica's own defaults apply (keep 8, keep-for 0).
    keep: raw['replica-keep'] === undefined ? undefined : wholeNumber('--replica-keep', raw['replica-keep'], 1),
    keepForMs: raw['replica-keep-for'] === undefined ? undefined : parseDuration('--replica-keep-for', raw['replica-keep-for']),
    takeover: raw['replica-takeover'] === true,
  };
  if (raw['replica-endpoint'] !== undefined) {
    if (!/^https?:\/\/[^/]/.test(raw['replica-endpoint'])) throw new UsageError(`--replica-endpoint ${raw['replica-endpoint']}: not an http(s) URL`, 'e.g. --replica-endpoint http://127.0.0.1:7480');
    replica.endpoint = raw['replica-endpoint'];
  }
  if (raw['replica-region'] !== undefined) replica.region = raw['replica-region'];
  if (raw['replica-path-style'] === true) replica.forcePathStyle = true;
  return { replica };
}
