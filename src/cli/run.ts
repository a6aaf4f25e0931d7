// `shm-host [run] [options] -- <command> [args...]`: supervise a command (the
// default subcommand). Options are declared as strings and validated by
// run-options.ts, so each bad value gets its own one-line error.
import { CommandFailure, UsageError } from './errors.js';
import { defineCommand } from './command.js';
import { EXIT_CODES, withDir, exampleLines } from './options.js';
import { RUN_OPTIONS, interpretRunOptions, type RawRunOptions } from './run-options.js';
import { replicaFailure } from './replica-options.js';
import { flagName } from './hints.js';
import { humanBytes } from './text.js';

/** The first lines of the run command's help, which is also the program's. */
export const RUN_USAGE = 'shm-host [run] [options] -- <command> [args...]\n\nRun <command> with a shared memory file on fd 3 (LISTEN_FDS) and keep what it commits across crashes, SIGKILL and host restarts. A capture stores only the blocks that changed since the one before (a delta), with a full one now and then (--max-chain). Durations take a unit (ms, s, m, h, d); sizes K, M, G or T (binary). The other commands inspect and manage the snapshots and their replicas (shm-host <command> --help).';

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
  builder: (yargs) => withDir(yargs)
    .usage(RUN_USAGE)
    .options(RUN_OPTIONS)
    .example(exampleLines('shm-host --dir ./state -- node app.js', 'run app.js, snapshots in ./state'))
    .example(exampleLines('shm-host --interval 100ms --size 1G -- ./daemon', 'capture every 100 ms, 1 GiB shared file'))
    .example(exampleLines('shm-host --dir ./state --replica s3://bucket/app -- node app.js', 'also ship every generation to S3; restore ./state from it when empty'))
    // The end of the program's help and of `shm-host run --help` (its own help, without the program's epilogue).
    .epilogue(EXIT_CODES),
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
        chain: { maxChain: options.maxChain, maxChainRatio: options.maxChainRatio },
        stopTimeoutMs: options.stopTimeoutMs,
        command: options.command,
        args: options.args,
        logger,
        optionName: flagName,
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
      if (err instanceof CommandNotFoundError) throw new CommandFailure('COMMAND_NOT_FOUND', err.problem, 'check the command after --', { exitCode: 127, cause: err });
      if (err instanceof MissingToolError) throw new CommandFailure('MISSING_TOOL', err.problem, null, { cause: err });
      // The replica refused this host (another writes the prefix) or could not be read to restore an empty --dir.
      throw replicaFailure(err);
    }
  },
});
