// `shm-host [run] [options] -- <command> [args...]`: supervise a command (the
// default subcommand). Options are declared as strings and validated by
// run-options.ts, so each bad value gets its own one-line error.
import { CommandFailure, UsageError } from './errors.js';
import { defineCommand } from './command.js';
import { withDir } from './options.js';
import { interpretRunOptions, type RawRunOptions } from './run-options.js';
import { replicaFailure, withReplicaConnection } from './replica-options.js';
import { humanBytes } from './text.js';

/** The first lines of the run command's help, which is also the program's. */
export const RUN_USAGE = 'shm-host [run] [options] -- <command> [args...]\n\nRun <command> with a shared memory file on fd 3 (LISTEN_FDS) and keep what it commits across crashes, SIGKILL and host restarts. The other commands inspect and manage the snapshots (shm-host <command> --help).';

/**
 * Refuses, before anything is written, a --size this machine cannot give a
 * child (a file size limit, an address space limit): one line, exit 2.
 */
async function checkSizeFits(size: number, raw: string): Promise<void> {
  const { probeSharedFileSize } = await import('../live/index.js');
  try {
    probeSharedFileSize(size);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    const file = `--size ${raw}: a shared file of ${humanBytes(size)}`;
    if (code === 'EFBIG') throw new UsageError(`${file} is above this process's file size limit (EFBIG)`, 'give a smaller --size or raise ulimit -f');
    if (code === 'ENOMEM') throw new UsageError(`${file} does not fit this process's address space (ENOMEM)`, 'give a smaller --size or raise ulimit -v');
    throw new UsageError(`${file} cannot be created here (${code})`, 'give a smaller --size');
  }
}

export const runCommand = defineCommand({
  command: ['run [command..]', '$0 [command..]'],
  describe: 'Run a command with a shared memory file on fd 3 and keep its committed state across crashes, SIGKILL and host restarts',
  builder: (yargs) => withReplicaConnection(withDir(yargs))
    .usage(RUN_USAGE)
    .option('size', { type: 'string', default: '64M', describe: 'Size of the shared file (K, M, G, T; 12K to 1T); never smaller than the snapshot restored' })
    .option('interval', { type: 'string', default: '1s', describe: 'Time between captures (ms, s, m); 0 = only when the child dies or the host stops' })
    .option('keep', { type: 'string', default: '3', describe: 'Snapshot generations kept (at least 2)' })
    .option('restart', { type: 'string', default: 'on-failure', describe: 'When to restart the child: never, on-failure (a signal or a non-zero exit), always' })
    .option('max-restarts', { type: 'string', default: '10', describe: 'Give up after this many restarts within --restart-window' })
    .option('restart-window', { type: 'string', default: '60s', describe: 'The window --max-restarts counts in' })
    .option('restart-delay', { type: 'string', default: '100ms', describe: 'First restart delay (systemd RestartSec=, pm2 restart_delay); doubles after each quick failure up to --restart-max-delay, back to this once the child ran 10s' })
    .option('restart-max-delay', { type: 'string', defaultDescription: '30s', describe: 'Longest restart delay (systemd RestartMaxDelaySec= with RestartSteps=, pm2 exp_backoff_restart_delay); equal to --restart-delay: a constant delay' })
    .option('stop-timeout', { type: 'string', default: '10s', describe: 'On SIGTERM/SIGINT/SIGHUP: forward it, SIGKILL the child this long after' })
    .option('log-format', { type: 'string', default: 'text', describe: 'text, or json (one JSON object per line on stderr)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'Log only errors' })
    .option('replica', { type: 'string', describe: 'Replicate every durable generation to s3://BUCKET/PREFIX or file:///path; an empty --dir is restored from it (docs/REPLICA.md). Credentials: the AWS SDK default chain only' })
    .option('replica-keep', { type: 'string', defaultDescription: '8', describe: 'Generations kept on the replica (at least 1)' })
    .option('replica-keep-for', { type: 'string', defaultDescription: '0', describe: 'Also keep every replicated generation younger than this (s, m, h, d)' })
    .option('replica-takeover', { type: 'boolean', describe: "Replace another live host's writer lease on the replica prefix" })
    .example('shm-host --dir ./state -- node app.js', 'run app.js, snapshots in ./state')
    .example('shm-host --interval 100ms --size 1G -- ./daemon', 'capture every 100 ms, 1 GiB shared file')
    .example('shm-host --dir ./state --replica s3://bucket/app -- node app.js', 'also ship every generation to S3; restore ./state from it when empty'),
  handler: async (args) => {
    const positional = ((args as Record<string, unknown>).command ?? []) as Array<string | number>;
    if (positional.length > 0) {
      throw new UsageError(`${positional[0]} is not a subcommand`, `to run a program, put it after --, e.g. shm-host -- ${positional.join(' ')}`);
    }
    const command = ((args as Record<string, unknown>)['--'] ?? []) as Array<string | number>;
    const options = interpretRunOptions({ ...(args as unknown as RawRunOptions), command: command.map(String) });
    await checkSizeFits(options.size, String(args.size));
    // Loaded here, not at the top: the inspection commands need none of it.
    const { CommandNotFoundError, MissingToolError, createLogger, restartPolicyOptions, supervise } = await import('../host/index.js');
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
        ...(options.replica === undefined ? {} : { replica: options.replica }),
        restart: restartPolicyOptions({
          mode: options.restart,
          maxRestarts: options.maxRestarts,
          windowMs: options.restartWindowMs,
          initialDelayMs: options.restartDelayMs,
          maxDelayMs: options.restartMaxDelayMs,
        }),
      });
    } catch (err) {
      if (err instanceof CommandNotFoundError) throw new CommandFailure('COMMAND_NOT_FOUND', err.message, 'check the command after --', { exitCode: 127, cause: err });
      if (err instanceof MissingToolError) throw new CommandFailure('MISSING_TOOL', err.message, null, { cause: err });
      // The replica refused this host (another writes the prefix) or could not be read to restore an empty --dir.
      throw replicaFailure(err);
    }
  },
});
