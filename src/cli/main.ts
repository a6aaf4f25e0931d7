// The shm-host command line: parses argv with yargs, runs one subcommand,
// and turns whatever it throws into one line on stderr and an exit code.
// It never calls process.exit and takes its streams as a parameter, so tests
// run it in-process.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { CliCommand, CommandContext } from './command.js';
import { asDefault, attachMinusValues, firstWord, jsonAsked, nameOf, protectDashes, restoreDashes } from './argv.js';
import { UsageError, explain } from './errors.js';
import { fastRunArgs } from './fast-run.js';
import { EXIT_CODES } from './options.js';
import { OutputSink, ReaderGone, processIo, type CliIo } from './io.js';
import { createProgress } from './progress.js';
import { helpFor, notASubcommand, optionTypo, usageProblem } from './usage-errors.js';

/**
 * Every subcommand's module, loaded only when it is the one that runs (all
 * of them for the program's --help): `list` need not load the host, nor
 * `run` the inspection commands. `run` is the default one (`shm-host -- <command>`).
 */
const COMMAND_MODULES: Readonly<Record<string, () => Promise<CliCommand<any>>>> = {
  run: async () => (await import('./run.js')).runCommand,
  list: async () => (await import('./list.js')).listCommand,
  show: async () => (await import('./show.js')).showCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  cat: async () => (await import('./cat.js')).catCommand,
  export: async () => (await import('./export.js')).exportCommand,
  import: async () => (await import('./import.js')).importCommand,
  prune: async () => (await import('./prune.js')).pruneCommand,
  restore: async () => (await import('./restore.js')).restoreCommand,
  status: async () => (await import('./status.js')).statusCommand,
  snapshot: async () => (await import('./snapshot.js')).snapshotCommand,
};
const NAMES = Object.keys(COMMAND_MODULES);
const allCommands = (): Promise<Array<CliCommand<any>>> => Promise.all(NAMES.map((n) => COMMAND_MODULES[n]!()));

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function contextFor(io: CliIo): CommandContext {
  const out = new OutputSink(io.stdout);
  return {
    io,
    out,
    progress: (label, total, options = {}) =>
      createProgress(io.stderr, label, total, options.json !== true && io.stdout.isTTY === true && io.stderr.isTTY === true),
  };
}

type Selection = { command: CliCommand<any>; args: Record<string, unknown> };

/**
 * A parser for `argv`. A named subcommand gets a parser of its own, where it
 * is the default command: yargs then does not render that command's help on
 * every run (which cost several milliseconds a call). The program's own
 * parser, with every command, serves --help, --version and the default run.
 */
async function parserFor(argv: readonly string[], io: CliIo, select: (s: Selection) => void): Promise<{ parser: Argv; args: string[] }> {
  const first = firstWord(argv);
  // The default command (run) keeps the program's parser: its help is the program's.
  const named = first === null || first.word === 'run' ? undefined : await COMMAND_MODULES[first.word]?.();
  const commands = named ? [named] : await allCommands();
  const { default: yargs } = await import('yargs');
  const parser = yargs()
    .scriptName(named ? `shm-host ${nameOf(named)}` : 'shm-host')
    // A repeated option: the last one wins, as in the fast path (util.parseArgs); never an array where a string is expected.
    .parserConfiguration({ 'populate--': true, 'duplicate-arguments-array': false })
    .strict()
    .exitProcess(false)
    .version(version)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, io.stdout.columns ?? 100))
    .fail((message: string | null, err: Error | undefined) => {
      // yargs reports its own parse failures as YError (or just a message); anything else is a real error.
      if (err !== undefined && err.name !== 'YError') throw err;
      const problem = usageProblem(commands, message ?? err?.message ?? 'invalid command line', argv);
      throw new UsageError(problem, optionTypo(message ?? '', (parser as unknown as { getOptions(): { key: Record<string, unknown>; boolean: string[] } }).getOptions(), argv) ?? helpFor(commands, argv));
    });
  const register = (command: CliCommand<any>, usage: string | string[]): void => {
    parser.command({
      command: usage,
      describe: command.describe,
      builder: command.builder as never,
      handler: (args: Record<string, unknown>) => select({ command, args: restoreDashes(args) }),
    });
  };
  if (named && first) {
    // The run command's builder adds it to the program's help and its own: a named command's parser adds it here.
    parser.epilogue(EXIT_CODES);
    register(named, asDefault(named));
    return { parser, args: protectDashes(argv.filter((_, i) => i !== first.index)) };
  }
  for (const command of commands) register(command, command.command as string | string[]);
  return { parser, args: protectDashes(argv) };
}

/**
 * Runs the command line `argv` (without node and the script) and resolves
 * with the exit code: 0 ok, 1 what it checked is bad or an expected failure,
 * 2 a usage error, 3 no running host (status, snapshot), or the run command's.
 */
export async function main(given: readonly string[], io: CliIo = processIo()): Promise<number> {
  let selected: Selection | null = null;
  let help = '';
  const argv = attachMinusValues(given);
  try {
    // A first word that names no subcommand is a typo or a program to run: said before yargs calls it an unknown argument.
    const first = firstWord(argv);
    if (first !== null && !NAMES.includes(first.word)) throw notASubcommand(NAMES, first.word, argv);
    const fast = fastRunArgs(argv);
    if (fast !== null) {
      selected = { command: await COMMAND_MODULES.run!(), args: fast };
    } else {
      const { parser, args } = await parserFor(argv, io, (s) => {
        selected = s;
      });
      await parser.parseAsync(args, {}, (_err: unknown, _args: unknown, output: string) => {
        help = output;
      });
    }
  } catch (err) {
    // Every subcommand but run takes --json.
    return report(err, io, jsonAsked(argv, (word) => NAMES.includes(word) && word !== 'run'));
  }
  if (selected === null) {
    // --help or --version: yargs produced the text instead of choosing a command.
    if (help !== '') io.stdout.write(`${startingAtRunUsage(help)}\n`);
    return 0;
  }
  const { command, args } = selected as Selection;
  try {
    if (args.dir === '') throw new UsageError('--dir is empty', 'give a directory path, e.g. --dir ./state');
    return await command.handler(args, contextFor(io));
  } catch (err) {
    if (err instanceof ReaderGone) return 0;
    return report(err, io, args.json === true);
  }
}

/**
 * The program's help begins with the default command's own line and
 * description, then the run usage; the usage says it all, so it comes first.
 */
function startingAtRunUsage(help: string): string {
  const at = help.indexOf('shm-host [run] [options] -- <command> [args...]');
  return at > 0 ? help.slice(at) : help;
}

/**
 * Prints one line for `err` and, with --json, an error document on stdout,
 * usage errors (exit 2) included: a script reading --json output then finds
 * exactly one document whatever happened, and branches on its code (an
 * unusable --dir is a usage error, and often the state of a machine, not
 * of the script: a directory not made yet). Returns the exit code.
 */
function report(err: unknown, io: CliIo, json: boolean): number {
  const { exitCode, code, line, expected } = explain(err);
  if (json) io.stdout.write(`${JSON.stringify({ error: { code, message: line, exitCode } }, null, 2)}\n`);
  io.stderr.write(`shm-host: ${line}\n`);
  if (!expected && io.env.SHM_HOST_DEBUG === '1' && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return exitCode;
}
