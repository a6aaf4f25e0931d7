// Small facts about a command line, before and around yargs.
import type { CliCommand } from './command.js';

/** A command's name: the first word of its usage (`show <ref>` -> `show`). */
export const nameOf = (c: CliCommand<any>): string => usageOf(c).split(' ')[0]!;

/** A command's usage string (the first, when it has aliases). */
export const usageOf = (c: CliCommand<any>): string => (Array.isArray(c.command) ? c.command[0] : (c.command as string));

/** The first word of argv before `--` that is not an option, and where it is. */
export function firstWord(argv: readonly string[]): { word: string; index: number } | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return null;
    if (!a.startsWith('-')) return { word: a, index: i };
  }
  return null;
}

/** The subcommand `argv` names, if any. */
export function subcommandOf(commands: ReadonlyArray<CliCommand<any>>, argv: readonly string[]): CliCommand<any> | undefined {
  const first = firstWord(argv);
  return commands.find((c) => nameOf(c) === first?.word);
}

/** The usage string of `command` with its name replaced by `$0` (`show <ref>` -> `$0 <ref>`). */
export const asDefault = (command: CliCommand<any>): string => {
  const usage = usageOf(command);
  return `$0${usage.slice(usage.split(' ')[0]!.length)}`;
};

// yargs' parser reads a lone `-` as an empty option, so it is swapped for a
// placeholder before parsing and back after (`export latest -`, `import -`).
const DASH = '\u0000stdio';

/** argv with each lone `-` before `--` swapped for the placeholder yargs leaves alone. */
export function protectDashes(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (a === '-' && (end < 0 || i < end) ? DASH : a));
}

/** Parsed arguments with the placeholder turned back into `-`. */
export function restoreDashes(args: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(args)) if (v === DASH) args[k] = '-';
  return args;
}
