// Every subcommand's --help shows each default the same way: `[default: X]`
// with X as a user types it (yargs quotes a string default and not a
// number, and the options that take numbers are strings), and no option
// states its default in its description instead.
import t from 'tap';
import yargs from 'yargs';
import type { CliCommand } from '../../src/cli/command.js';
import { SUBCOMMANDS, helpEntry, runCli } from './harness.js';

const COMMANDS = SUBCOMMANDS;

/** Each option (and positional) of `command` with a default, and how --help must show it. */
function defaults(command: CliCommand<any>): Map<string, string> {
  const parser = command.builder(yargs()) as unknown as { getOptions(): { default: Record<string, unknown>; defaultDescription: Record<string, string | undefined> } };
  const { default: values, defaultDescription } = parser.getOptions();
  const shown = new Map<string, string>();
  for (const key of new Set([...Object.keys(values), ...Object.keys(defaultDescription)])) {
    if (key.length < 2 || /[A-Z]/.test(key)) continue; // yargs' camel-case and one-letter aliases
    shown.set(key, defaultDescription[key] ?? String(values[key]));
  }
  return shown;
}

t.test('every default of every subcommand reads [default: X], unquoted, and only there', async (t) => {
  for (const [name, load] of Object.entries(COMMANDS)) {
    const help = (await runCli([name, '--help'])).out;
    t.notMatch(help, /\[default: "/, `${name} --help quotes no default`);
    const shown = defaults(await load());
    t.ok(shown.has('dir'), `${name}: its defaults were found (${[...shown.keys()].join(', ')})`);
    for (const [option, text] of shown) {
      const entry = helpEntry(help, option, true);
      t.ok(entry.includes(`[default: ${text}]`), `${name} --${option}: [default: ${text}] (${entry})`);
      t.notMatch(entry.replace(/\[default: [^\]]*\]/, ''), /\bdefault\b(?! chain)/i, `${name} --${option}: no default stated in its description`);
    }
  }
  // The program's own help is run's.
  const program = (await runCli(['--help'])).out;
  t.notMatch(program, /\[default: "/, 'shm-host --help quotes no default');
  t.match(helpEntry(program, 'max-chain-ratio', true), /\[default: 0\.25\]/);
});

t.test('an option without a default of its own states none in its description either', async (t) => {
  for (const [name, load] of Object.entries(COMMANDS)) {
    const help = (await runCli([name, '--help'])).out;
    const shown = defaults(await load());
    const options = [...help.matchAll(/^\s+(?:-\w, )?--([\w-]+)\s/gm)].map((m) => m[1]!).filter((o) => !shown.has(o) && o !== 'help' && o !== 'version');
    for (const option of options) {
      t.notMatch(helpEntry(help, option, true), /\bdefault\b(?! chain)/i, `${name} --${option}: says no default outside [default: ...]`);
    }
  }
});
