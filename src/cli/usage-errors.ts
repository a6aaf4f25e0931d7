// yargs' parse failures, reworded as one line that names the problem and
// points at the right --help.
import type { CliCommand } from './command.js';
import { firstWord, nameOf, subcommandOf, usageOf } from './argv.js';
import { UsageError } from './errors.js';

/** Edit distance between `a` and `b`, a swap of two neighbours counting as one edit (Damerau's optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** `foo-bar` as yargs also keys it (`fooBar`). */
const camel = (name: string): string => name.replace(/-+([^-])/g, (_, c: string) => c.toUpperCase());

/**
 * How the user typed the option yargs names `name` (`dri` for `--dri=3`,
 * `fooBar` for `--foo-bar`, `x` for `-xy`): `--dri`, `--foo-bar`, `-x`; or
 * null when no option before `--` in `argv` was that name (a word).
 */
function typedOption(name: string, argv: readonly string[]): string | null {
  const end = argv.indexOf('--');
  for (const a of end < 0 ? argv : argv.slice(0, end)) {
    if (a.startsWith('--')) {
      const key = a.slice(2).split('=')[0]!;
      const positive = key.startsWith('no-') ? key.slice(3) : key;
      if ([key, positive, camel(key), camel(positive)].includes(name)) return `--${key}`;
    } else if (/^-[^-\d]/.test(a) && name.length === 1 && a.slice(1).split('=')[0]!.includes(name)) {
      return `-${name}`;
    }
  }
  return null;
}

/**
 * yargs' `Unknown arguments: dri, x` as the user typed them, in order and
 * once each (`--dri`, `-x`; a word that was no option as it is), with
 * whether every one of them was an option; null for any other message.
 */
function unknownArguments(message: string, argv: readonly string[]): { typed: string[]; options: boolean } | null {
  const m = /^Unknown arguments?: (.+)$/.exec(message.replace(/\s*\n\s*/g, ' ').trim());
  if (!m) return null;
  const names = m[1]!.split(', ');
  const typed = [...new Set(names.map((name) => typedOption(name, argv) ?? name))];
  return { typed, options: typed.every((a) => a.startsWith('-')) };
}

/**
 * For yargs' `Unknown argument: al` (from `--al`), a hint naming the option
 * it is most likely a typo of (`did you mean --all?`; `--no-jsn`: of
 * `--no-json`, a boolean's negation), among the parser's `options` (names
 * as yargs keeps them); null for anything else, a short option included.
 */
export function optionTypo(message: string, options: { readonly key: Readonly<Record<string, unknown>>; readonly boolean: readonly string[] }, argv: readonly string[]): string | null {
  const unknown = unknownArguments(message, argv);
  const typed = unknown?.typed.length === 1 ? unknown.typed[0]! : '';
  if (!typed.startsWith('--')) return null;
  const negated = typed.startsWith('--no-');
  const names = negated ? options.boolean : Object.keys(options.key);
  const closest = closestSubcommand(names.filter((k) => k.length > 1 && k !== '$0' && k !== '_'), typed.slice(negated ? 5 : 2));
  return closest === null ? null : `did you mean --${negated ? 'no-' : ''}${closest}?`;
}

/** The subcommand `word` is most likely a typo of (at most 2 edits, and fewer than half its letters), or null. */
export function closestSubcommand(names: readonly string[], word: string): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const name of names) {
    const distance = editDistance(word.toLowerCase(), name);
    if (distance <= 2 && distance * 2 < name.length && (best === null || distance < best.distance)) best = { name, distance };
  }
  return best?.name ?? null;
}

/**
 * `word`, the first word of `argv`, names no subcommand: a typo of one
 * ("did you mean"), or a program to run that belongs after `--`.
 */
export function notASubcommand(names: readonly string[], word: string, argv: readonly string[]): UsageError {
  const closest = closestSubcommand(names, word);
  if (closest !== null) return new UsageError(`${word} is not a subcommand`, `did you mean ${closest}? see shm-host --help`);
  const at = argv.indexOf(word);
  const options = argv.slice(0, at);
  const program = argv.slice(at).filter((a) => a !== '--');
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return new UsageError(`${word} is not a subcommand`, `to run a program, put it after --: shm-host ${[...options, '--', ...program].map(quote).join(' ')}`);
}

/** Where a usage error points: the subcommand's --help, or the program's. */
export function helpFor(commands: ReadonlyArray<CliCommand<any>>, argv: readonly string[]): string {
  const known = subcommandOf(commands, argv);
  return known ? `see shm-host ${nameOf(known)} --help` : 'see shm-host --help';
}

/** yargs' wording of a parse failure, as `problem` for one line. */
export function usageProblem(commands: ReadonlyArray<CliCommand<any>>, message: string, argv: readonly string[]): string {
  const text = message.replace(/\s*\n\s*/g, ' ').trim();
  const unknown = unknownArguments(text, argv);
  if (unknown !== null) {
    const what = `unknown ${unknown.options ? 'option' : 'argument'}${unknown.typed.length === 1 ? '' : 's'}`;
    return `${what}: ${unknown.typed.join(', ')}`;
  }
  if (/^Not enough non-option arguments/.test(text)) {
    const known = subcommandOf(commands, argv);
    const usage = known ? usageOf(known) : '';
    const required = usage.match(/<[^>]+>/g);
    return known && required ? `${nameOf(known)} needs ${required.join(' ')}` : 'a required argument is missing';
  }
  const asTyped = (name: string): string => typedOption(name, argv) ?? `--${name}`;
  if (/^Not enough arguments following: /.test(text)) return `${asTyped(text.slice('Not enough arguments following: '.length))} needs a value`;
  const invalid = /^Invalid values: Argument: ([^,]+), Given: "(.*)", Choices: (.+)$/.exec(text);
  if (invalid) return `${asTyped(invalid[1]!)} ${invalid[2]}: not one of ${invalid[3]!.replace(/"/g, '')}`;
  if (/^Missing required argument/.test(text)) return text.replace(/^Missing required arguments?: /, 'missing required option --');
  return text.charAt(0).toLowerCase() + text.slice(1);
}
