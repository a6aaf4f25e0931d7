// Library errors say what to do in words; the command line knows which of
// its flags does it. This is the one place that adds flag names to hints.
import { dirname } from 'node:path';
import type { ShmHostError } from '../errors.js';

/**
 * The flag of each library option an error's hint or a host log line may
 * be about, by the option's name (its path in supervise()'s options).
 */
const FLAGS: Readonly<Record<string, string>> = {
  dir: '--dir',
  keep: '--keep',
  timeoutMs: '--timeout',
  chain: '--max-chain and --max-chain-ratio',
  stopTimeoutMs: '--stop-timeout',
  'restart.mode': '--restart',
  'restart.maxRestarts': '--max-restarts',
  'restart.windowMs': '--restart-window',
  size: '--size',
  replica: '--replica',
  'replica.takeover': '--replica-takeover',
  'replica.region': '--replica-region',
  'replica.endpoint': '--replica-endpoint',
};

/**
 * The command line's name for library option `option` (`restart.maxRestarts`
 * -> `--max-restarts`), or the option's own name when it has no flag: what
 * `run` passes to supervise() as `optionName`.
 */
export const flagName = (option: string): string => FLAGS[option] ?? option;

/**
 * The hint to print for `err`: its own, followed by the flag that acts on
 * the option it names (`use another snapshot directory: --dir`), or a
 * whole command where one fixes it. Undefined when the error has no hint.
 */
export function cliHint(err: ShmHostError): string | undefined {
  // A ControlError, by name (errors.ts says why).
  if (err.name === 'ControlError' && err.code === 'NO_HOST' && err.option === 'dir' && err.path !== undefined) {
    // The socket lives in the snapshot directory: that is the --dir to start a host on.
    return `start one with shm-host --dir ${dirname(err.path)} -- <command>`;
  }
  if (err.hint === undefined) return undefined;
  if (err.code === 'INTERRUPTED_RESTORE' && err.option === 'replica' && err.path !== undefined) {
    // The store's directory (err.path) is what the restore command writes into.
    return `${err.hint}: shm-host restore --from URL --dir ${err.path} (or a host with --replica URL)`;
  }
  if (err.code === 'NO_USABLE_GENERATION' && err.path !== undefined) {
    // The host refused a directory whose generations all fail (err.path): the command that says why of each, for it.
    return `${err.hint}: shm-host verify --all --dir ${err.path}`;
  }
  const flag = err.option === undefined ? undefined : FLAGS[err.option];
  return flag === undefined ? err.hint : `${err.hint}: ${flag}`;
}
