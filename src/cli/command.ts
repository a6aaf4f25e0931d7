// The shape every subcommand file exports, and what its handler is given.
import type { Argv } from 'yargs';
import type { CliIo, OutputSink } from './io.js';
import type { Progress } from './progress.js';

/** What a handler gets besides its parsed arguments. */
export interface CommandContext {
  readonly io: CliIo;
  /** Standard output, with backpressure; use it rather than io.stdout for anything large. */
  readonly out: OutputSink;
  /** A progress bar on stderr for `totalBytes` of work; inert unless stdout and stderr are terminals and not --json. */
  progress(label: string, totalBytes: number, options?: { json?: boolean }): Progress;
}

/**
 * One subcommand, registered by main(): `command`, `describe` and `builder`
 * are yargs' own; `handler` runs after parsing and returns the exit code
 * (0 ok, 1 what it checked is bad, 2 usage; it may throw UsageError or
 * CommandFailure, or any store/format error, which main() turns into one line).
 */
export interface CliCommand<A = Record<string, unknown>> {
  readonly command: string | readonly string[];
  readonly describe: string;
  readonly builder: (yargs: Argv) => Argv<A>;
  readonly handler: (args: A, context: CommandContext) => Promise<number>;
}

/**
 * Helps a command file declare itself with its argument types inferred from
 * the builder; its --help shows every default as typed (plainDefaults()).
 */
export function defineCommand<A>(command: CliCommand<A>): CliCommand<A> {
  return { ...command, builder: (yargs) => plainDefaults(command.builder(yargs)) };
}

/**
 * Gives every option (and positional) of `parser` whose default is a
 * string, and that has no defaultDescription of its own, its value as one:
 * yargs quotes a string default (`[default: "0.25"]`) and not a number or
 * boolean, and the options that take numbers are strings here (values.ts
 * parses them), so --help would quote some defaults and not others.
 * Returns `parser`.
 */
export function plainDefaults<A>(parser: Argv<A>): Argv<A> {
  const { default: defaults, defaultDescription } = (parser as unknown as { getOptions(): YargsDefaults }).getOptions();
  for (const [key, value] of Object.entries(defaults)) {
    if (typeof value === 'string' && value !== '' && !defaultDescription[key]) parser.default(key, value, value);
  }
  return parser;
}

/** The part of yargs' getOptions() plainDefaults() reads. */
interface YargsDefaults {
  readonly default: Record<string, unknown>;
  readonly defaultDescription: Record<string, string | undefined>;
}
