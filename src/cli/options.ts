// Options several subcommands share, declared once so they read the same everywhere.
import type { Argv } from 'yargs';
import { REF_HELP } from './source.js';

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
