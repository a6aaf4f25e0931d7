// fastRunArgs (src/cli/fast-run.ts): the run command line parsed without
// yargs, for a fast start. It must take only plain run command lines, give
// their values with the same defaults, and hand everything else (null) to
// yargs, whose errors and help are the program's.
import t from 'tap';
import { fastRunArgs } from '../../src/cli/fast-run.js';

t.test('a plain run command line: values, defaults and the command after --', async (t) => {
  const args = fastRunArgs(['--dir', '/srv/state', '--size', '64M', '--', 'node', 'app.js', '--port', '80']);
  t.ok(args !== null);
  t.equal(args!.dir, '/srv/state');
  t.equal(args!.size, '64M');
  t.same(args!['--'], ['node', 'app.js', '--port', '80'], 'everything after the first -- is the command, flags included');
  t.equal(args!['max-chain'], '10', 'defaults filled in as yargs would');
  t.equal(args!['stop-timeout'], '10s');
  t.equal(fastRunArgs(['run', '--', 'app'])!.dir, './.shm-host', 'an explicit run, and the default directory');
  t.equal(fastRunArgs(['--replica-takeover', '--', 'app'])!['replica-takeover'], true, 'a boolean option');
});

t.test('anything else goes to yargs', async (t) => {
  for (const argv of [
    ['--dir', 'x'], // no command
    ['list', '--', 'x'], // a subcommand
    ['--help', '--', 'x'],
    ['--sise', '64M', '--', 'app'], // a typo
    ['--size', '--', 'app'], // a value missing
    ['app', '--', 'x'], // a positional before --
  ]) {
    t.equal(fastRunArgs(argv), null, argv.join(' '));
  }
});
