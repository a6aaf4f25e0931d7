// yargs' parse failures, reworded as one line that names the problem and
// points at the right --help.
import type { CliCommand } from './command.js';
import { firstWord, nameOf, subcommandOf, usageOf } from './argv.js';

/** Where a usage error points: the subcommand's --help, or the program's. */
export function helpFor(commands: ReadonlyArray<CliCommand<any>>, argv: readonly string[]): string {
  const known = subcommandOf(commands, argv);
  return known ? `see shm-host ${nameOf(known)} --help` : 'see shm-host --help';
}

/** yargs' wording of a parse failure, as `problem` for one line. */
export function usageProblem(commands: ReadonlyArray<CliCommand<any>>, message: string, argv: readonly string[]): string {
  const text = message.replace(/\s*\n\s*/g, ' ').trim();
  if (/^Unknown arguments?: /.test(text)) {
    const first = firstWord(argv)?.word;
    if (first !== undefined && subcommandOf(commands, argv) === undefined && text === `Unknown argument: ${first}`) return `unknown command ${first}`;
    return `unknown ${text.slice('Unknown '.length)}`;
  }
  if (/^Not enough non-option arguments/.test(text)) {
    const known = subcommandOf(commands, argv);
    const usage = known ? usageOf(known) : '';
    const required = usage.match(/<[^>]+>/g);
    return known && required ? `${nameOf(known)} needs ${required.join(' ')}` : 'a required argument is missing';
  }
  if (/^Not enough arguments following: /.test(text)) return `--${text.slice('Not enough arguments following: '.length)} needs a value`;
  if (/^Missing required argument/.test(text)) return text.replace(/^Missing required arguments?: /, 'missing required option --');
  return text.charAt(0).toLowerCase() + text.slice(1);
}
