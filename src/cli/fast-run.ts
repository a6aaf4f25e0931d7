// `shm-host [run] [options] -- <command>` parsed without yargs: the host's
// start-up is on the path to the child's, and loading yargs costs more than
// a bare Node start (docs/BENCHMARKS.md). Only a command line that parses
// cleanly takes this path; anything else goes through yargs, whose errors
// and --help are the program's.
import { parseArgs } from 'node:util';
import { DEFAULT_DIR } from './options.js';
import { RUN_OPTIONS } from './run-options.js';

const OPTIONS = {
  dir: { type: 'string', default: DEFAULT_DIR },
  ...Object.fromEntries(Object.entries(RUN_OPTIONS).map(([name, o]) => [name, 'default' in o ? { type: o.type, default: o.default } : { type: o.type }])),
} as const;

/**
 * The run command's arguments as yargs would have produced them (option
 * values and `--`: the command), or null when `argv` is not a plain run
 * command line (a subcommand, --help, a typo, an unknown option, no `--`).
 */
export function fastRunArgs(argv: readonly string[]): Record<string, unknown> | null {
  const end = argv.indexOf('--');
  if (end < 0) return null;
  const before = argv.slice(0, end);
  if (before[0] === 'run') before.shift();
  try {
    const { values, positionals } = parseArgs({ args: before, options: OPTIONS as never, strict: true, allowPositionals: true });
    if (positionals.length > 0) return null;
    return { ...(values as Record<string, unknown>), '--': argv.slice(end + 1) };
  } catch {
    return null;
  }
}
