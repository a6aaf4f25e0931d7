// Small facts about a command line, before and around yargs.
import type { CliCommand } from './command.js';

/** A command's name: the first word of its usage (`show <ref>` -> `show`). */
export const nameOf = (c: CliCommand<any>): string => usageOf(c).split(' ')[0]!;

/** A command's usage string (the first, when it has aliases). */
export const usageOf = (c: CliCommand<any>): string => (Array.isArray(c.command) ? c.command[0] : (c.command as string));

/** Options that take no value (every other `--name` without `=` takes the next word). */
const FLAGS = new Set(['--help', '-h', '--version', '--json', '--verify', '--quiet', '--all', '--slots', '--tail', '--force', '--wait', '--replica-takeover', '--replica-path-style', '--ignore-checksum']);

/** True when `arg` is an option whose value is the next word. */
const takesValue = (arg: string): boolean => arg.startsWith('--') && !arg.includes('=') && !FLAGS.has(arg) && !arg.startsWith('--no-');

/** True when `word` is `--` or an option, which no option takes as its value. */
const isOptionLike = (word: string | undefined): boolean => word !== undefined && /^-./.test(word);

/** The first word of argv before `--` that is neither an option nor an option's value, and where it is. */
export function firstWord(argv: readonly string[]): { word: string; index: number } | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return null;
    if (!a.startsWith('-')) return { word: a, index: i };
    // Neither `--` nor an option is an option's value (`--dri -- true`: the program follows;
    // `--keep --interval 1s`: --keep lacks its value, which yargs says). A lone `-` is one (stdin, stdout);
    // a negative number was attached to its option before (attachMinusValues).
    if (takesValue(a) && !isOptionLike(argv[i + 1])) i++;
  }
  return null;
}

/**
 * argv with a value that starts with a minus (`--size -5M`) attached to its
 * option (`--size=-5M`): yargs would read `-5M` as the flags -5 and -M and
 * report them as unknown, instead of the value's own problem.
 */
export function attachMinusValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (takesValue(a) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
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

/**
 * Whether `argv`, a command line yargs may not have parsed, asks for --json:
 * its first word names a subcommand that `takesJson`, and its last --json,
 * --json=true, --json=false or --no-json before `--` says so. Its error is
 * then a document too.
 */
export function jsonAsked(argv: readonly string[], takesJson: (command: string) => boolean): boolean {
  const first = firstWord(argv);
  if (first === null || !takesJson(first.word)) return false;
  let json = false;
  for (const a of argv) {
    if (a === '--') break;
    if (a === '--json' || a === '--json=true') json = true;
    else if (a === '--no-json' || a === '--json=false') json = false;
  }
  return json;
}
