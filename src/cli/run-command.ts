// `shm-host [run] [options] -- <command> [args...]`: option definitions for
// --help, and the handler that hands validated options to the supervisor.
import type { Argv } from 'yargs';
import { CommandNotFoundError, createLogger, supervise } from '../host/index.js';
import { interpretRunOptions, type RawRunOptions } from './run-options.js';

export const RUN_DEFAULTS = {
  dir: './.shm-host',
  size: '64M',
  interval: '1s',
  keep: 3,
  restart: 'on-failure',
  'max-restarts': 10,
  'restart-window': '60s',
  'restart-delay': '100ms',
  'stop-timeout': '10s',
  'log-format': 'text',
} as const;

const MAX_RESTART_DELAY_MS = 30_000;
const STABLE_AFTER_MS = 10_000;

/** Declares run's options on a yargs instance (types are strings: run-options validates them with clear errors). */
export function runBuilder<T>(yargs: Argv<T>): Argv<T & RawRunOptions> {
  return yargs
    .usage('$0 [run] [options] -- <command> [args...]\n\nRun <command> with a shared memory file on fd 3 and keep its committed state across crashes, SIGKILL and host restarts.')
    .option('dir', { type: 'string', default: RUN_DEFAULTS.dir, describe: 'Snapshot directory (created with mode 0700)' })
    .option('size', { type: 'string', default: RUN_DEFAULTS.size, describe: 'Size of the shared file (K, M, G); never smaller than the snapshot restored' })
    .option('interval', { type: 'string', default: RUN_DEFAULTS.interval, describe: 'Time between captures (ms, s, m); 0 = only when the child dies or the host stops' })
    .option('keep', { type: 'string', default: String(RUN_DEFAULTS.keep), describe: 'Snapshot generations kept (at least 2)' })
    .option('restart', { type: 'string', default: RUN_DEFAULTS.restart, choices: ['never', 'on-failure', 'always'], describe: 'When to restart the child: on-failure = killed by a signal or non-zero exit' })
    .option('max-restarts', { type: 'string', default: String(RUN_DEFAULTS['max-restarts']), describe: 'Give up after this many restarts within --restart-window' })
    .option('restart-window', { type: 'string', default: RUN_DEFAULTS['restart-window'], describe: 'Window for --max-restarts' })
    .option('restart-delay', { type: 'string', default: RUN_DEFAULTS['restart-delay'], describe: 'First restart delay; doubles on each quick failure (up to 30s), resets once the child ran 10s' })
    .option('stop-timeout', { type: 'string', default: RUN_DEFAULTS['stop-timeout'], describe: 'On SIGTERM/SIGINT/SIGHUP, SIGKILL the child this long after forwarding the signal' })
    .option('log-format', { type: 'string', default: RUN_DEFAULTS['log-format'], choices: ['text', 'json'], describe: 'text, or json: one JSON object per line on stderr' })
    .option('quiet', { type: 'boolean', default: false, describe: 'Log only errors' })
    .example('$0 --dir ./state -- node app.js', 'run app.js, keep its state in ./state')
    .example('$0 --interval 100ms --size 1G -- ./daemon --flag', 'capture every 100 ms, 1 GiB shared file') as unknown as Argv<T & RawRunOptions>;
}

/**
 * Runs the host to the end and returns its exit status: the child's (128+n
 * for a signal), 127 for a command that does not exist.
 */
export async function runHost(raw: RawRunOptions): Promise<number> {
  const options = interpretRunOptions(raw);
  const logger = createLogger({ format: options.logFormat, quiet: options.quiet });
  try {
    return await supervise({
      dir: options.dir,
      size: options.size,
      intervalMs: options.intervalMs,
      keep: options.keep,
      stopTimeoutMs: options.stopTimeoutMs,
      command: options.command,
      args: options.args,
      logger,
      restart: {
        mode: options.restart,
        maxRestarts: options.maxRestarts,
        windowMs: options.restartWindowMs,
        initialDelayMs: options.restartDelayMs,
        maxDelayMs: Math.max(MAX_RESTART_DELAY_MS, options.restartDelayMs),
        stableAfterMs: STABLE_AFTER_MS,
      },
    });
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      logger.log('error', 'command-not-found', `${err.message}`);
      return 127;
    }
    throw err;
  }
}
