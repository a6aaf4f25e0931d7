// cli/argv.ts, the facts main() reads from a command line before yargs:
// which word is the subcommand, values that start with a minus, and a lone
// `-` (stdin/stdout). Its list of options that take no value is kept by
// hand, so this also reads every boolean option the command files declare
// and checks that none is taken to swallow the next word.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { attachMinusValues, firstWord, protectDashes, restoreDashes } from '../../src/cli/argv.js';

const CLI = new URL('../../src/cli/', import.meta.url).pathname;

t.test('firstWord: the first word that is neither an option nor its value, stopping at --', async (t) => {
  t.same(firstWord(['list', '--dir', 'd']), { word: 'list', index: 0 });
  t.same(firstWord(['--dir', 'd', 'show', 'latest']), { word: 'show', index: 2 });
  t.same(firstWord(['--dir=d', 'show']), { word: 'show', index: 1 });
  t.same(firstWord(['--json', 'list']), { word: 'list', index: 1 }, 'a flag takes no value');
  t.same(firstWord(['--no-color', 'list']), { word: 'list', index: 1 }, 'nor does a negation');
  t.equal(firstWord(['--dir', 'd', '--', 'node', 'app.js']), null, 'the program after -- is no subcommand');
  t.equal(firstWord(['--dri', '--', 'true']), null, '-- is never an option\'s value');
});

t.test('every boolean option of every command takes no value', async (t) => {
  const declared = new Set<string>();
  for (const name of readdirSync(CLI)) {
    const text = readFileSync(join(CLI, name), 'utf8');
    for (const m of text.matchAll(/(?:\.option\(\s*|^\s*)'?([a-z][a-z-]*)'?\s*[,:]\s*\{\s*type: 'boolean'/gm)) declared.add(m[1]!);
    for (const m of text.matchAll(/\.option\('([a-z][a-z-]*)',\s*\{\s*\n\s*type: 'boolean'/g)) declared.add(m[1]!);
  }
  t.ok(declared.size >= 10, `read ${[...declared].sort().join(', ')}`);
  for (const flag of declared) t.same(firstWord([`--${flag}`, 'list']), { word: 'list', index: 1 }, `--${flag} list`);
});

t.test('attachMinusValues: a value starting with a minus stays with its option', async (t) => {
  t.same(attachMinusValues(['--size', '-5M', '--', 'true']), ['--size=-5M', '--', 'true']);
  t.same(attachMinusValues(['--offset', '-.5']), ['--offset=-.5']);
  t.same(attachMinusValues(['--json', '-1']), ['--json', '-1'], 'not after a flag');
  t.same(attachMinusValues(['--', 'prog', '--size', '-5']), ['--', 'prog', '--size', '-5'], 'nothing after --');
});

t.test('a lone - survives yargs: swapped before parsing and back after, only before --', async (t) => {
  const argv = protectDashes(['export', 'latest', '-', '--', '-']);
  t.not(argv[2], '-');
  t.equal(argv[4], '-', 'after --: the program\'s');
  t.same(restoreDashes({ file: argv[2], other: 'x' }), { file: '-', other: 'x' });
});
