// Options several subcommands share, declared once so they read the same everywhere.
import type { Argv } from 'yargs';

/** How a generation is named on the command line. */
export const REF_HELP = 'a <ref> is a sequence number, latest, latest~N, or the path of an image or export file';

/** The end of every --help. */
export const EXIT_CODES = 'Exit codes: 0 ok, 1 something checked is bad or failed, 2 usage error, 3 no running host (status, snapshot), 4 a damaged image written as --ignore-checksum asks (cat, show, export, import).';

/** The snapshot directory's default, as for `shm-host run`. */
export const DEFAULT_DIR = './.shm-host';

/** `--dir`: the snapshot directory. */
export function withDir<T>(yargs: Argv<T>) {
  return yargs.option('dir', {
    type: 'string',
    default: DEFAULT_DIR,
    requiresArg: true,
    describe: 'Snapshot directory',
  });
}

/** `--json`: exactly one JSON document on stdout instead of text. */
export function withJson<T>(yargs: Argv<T>) {
  return yargs.option('json', {
    type: 'boolean',
    default: false,
    describe: 'Print one JSON document (offsets as decimal strings)',
  });
}

/** `--dir`, `--json` and a required `<ref>`: what every command reading one generation takes. */
export function withGenerationRef<T>(yargs: Argv<T>) {
  return withJson(withDir(yargs)).positional('ref', { type: 'string', demandOption: true, describe: REF_HELP });
}

/**
 * One --help example as two lines, the description as a shell comment above
 * the command: yargs' two columns would wrap a command in its middle on an
 * 80-column terminal, and a command on a line of its own can be copied whole.
 */
export function exampleLines(command: string, description: string): Array<[string, string]> {
  return [[`# ${description}`, ''], [command, '']];
}
