// Usage errors that say what was probably meant (src/cli/usage-errors.ts).
import t from 'tap';
import { closestSubcommand, notASubcommand, optionTypo } from '../../src/cli/usage-errors.js';

const NAMES = ['run', 'list', 'show', 'verify', 'cat', 'export', 'import', 'prune', 'status', 'snapshot', 'restore'];

t.test('closestSubcommand: a near miss, or nothing', async (t) => {
  t.equal(closestSubcommand(NAMES, 'lsit'), 'list');
  t.equal(closestSubcommand(NAMES, 'Verfy'), 'verify', 'case does not count');
  t.equal(closestSubcommand(NAMES, 'snapshto'), 'snapshot');
  t.equal(closestSubcommand(NAMES, 'completely-else'), null);
});

t.test('optionTypo: yargs\' unknown argument, matched against the parser\'s options as typed', async (t) => {
  const options = { key: { dir: true, keep: true, json: true, $0: true, _: true, k: true }, boolean: ['json'] };
  t.equal(optionTypo('Unknown argument: kepe', options, ['list', '--kepe', '3']), 'did you mean --keep?');
  t.equal(optionTypo('Unknown argument: jsn', options, ['list', '--no-jsn']), 'did you mean --no-json?', 'a boolean\'s negation');
  t.equal(optionTypo('Unknown argument: zzzzzzzz', options, ['list', '--zzzzzzzz']), null, 'nothing close');
  t.equal(optionTypo('Missing required argument: dir', options, ['list']), null, 'not an unknown argument');
});

t.test('notASubcommand: one line with the suggestion and where to look', async (t) => {
  const err = notASubcommand(NAMES, 'lsit', ['lsit']);
  t.equal(err.code, 'USAGE');
  t.match(err.problem, 'lsit is not a subcommand');
  t.match(err.hint, /did you mean list\?/);
});
