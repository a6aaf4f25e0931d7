// Every option that takes a value, of every subcommand, refuses to go
// without one: one line naming the option, exit 2. yargs otherwise reads
// `--interval -- true` as an empty --interval and the default applies
// silently, and `--keep --interval 100ms` as a --keep of `--interval`.
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import yargs from 'yargs';
import type { CliCommand } from '../../src/cli/command.js';
import { isOneLineError, runBin, runCli } from './harness.js';

/** Each subcommand's module, with the arguments it needs before an option (its required positionals). */
const COMMANDS: Array<[string, () => Promise<CliCommand<any>>, string[]]> = [
  ['run', async () => (await import('../../src/cli/run.js')).runCommand, []],
  ['list', async () => (await import('../../src/cli/list.js')).listCommand, []],
  ['show', async () => (await import('../../src/cli/show.js')).showCommand, ['latest']],
  ['verify', async () => (await import('../../src/cli/verify.js')).verifyCommand, []],
  ['cat', async () => (await import('../../src/cli/cat.js')).catCommand, ['latest']],
  ['export', async () => (await import('../../src/cli/export.js')).exportCommand, ['latest', 'out.shmx']],
  ['import', async () => (await import('../../src/cli/import.js')).importCommand, ['in.shmx']],
  ['prune', async () => (await import('../../src/cli/prune.js')).pruneCommand, []],
  ['restore', async () => (await import('../../src/cli/restore.js')).restoreCommand, []],
  ['status', async () => (await import('../../src/cli/status.js')).statusCommand, []],
  ['snapshot', async () => (await import('../../src/cli/snapshot.js')).snapshotCommand, []],
];

/** The options of `command` that take a value (declared as strings, its positionals left out), as its builder declares them. */
function valueOptions(command: CliCommand<any>): string[] {
  const usage = [command.command].flat().join(' ');
  const positionals = new Set([...usage.matchAll(/[<[]([\w-]+)(?:\.\.)?[>\]]/g)].map((m) => m[1]));
  const parser = command.builder(yargs()) as unknown as { getOptions(): { string: string[] } };
  return parser.getOptions().string.filter((name) => name.length > 1 && !/[A-Z]/.test(name) && !positionals.has(name));
}

t.test('every value option of every subcommand, without its value: one line naming it, exit 2', async (t) => {
  const dir = t.testdir();
  let checked = 0;
  for (const [name, load, positionals] of COMMANDS) {
    const options = valueOptions(await load());
    t.ok(options.includes('dir'), `${name}: its options were found (${options.join(', ')})`);
    for (const option of options) {
      // Last on the line, before `--` (run), and followed by another option: each leaves it without a value.
      const follower = option === 'dir' ? (name === 'run' ? '--quiet' : '--json') : `--dir=${join(dir, 'state')}`;
      const lines = [[name, ...positionals, `--${option}`], [name, ...positionals, `--${option}`, '--', 'true'], [name, ...positionals, `--${option}`, follower, '--', 'true']];
      for (const argv of lines) {
        const r = await runCli(name === 'run' ? argv : argv.filter((a, i) => i < argv.indexOf('--') || !argv.includes('--')));
        t.equal(r.code, 2, `${argv.join(' ')}: exit 2 (${r.stderr.trim()})`);
        t.ok(isOneLineError(r.stderr), `${argv.join(' ')}: one line`);
        t.match(r.stderr, new RegExp(`--${option} needs a value`), `${argv.join(' ')}: names --${option}`);
        checked++;
      }
    }
  }
  t.ok(checked > 50, `${checked} command lines checked`);
  t.same(fs.readdirSync(dir), [], 'nothing was created');
});

t.test('the command lines first reported, as the binary runs them', async (t) => {
  const dir = join(t.testdir(), 'state');
  const missing = await runBin(['--dir', dir, '--interval', '--', 'true']);
  t.equal(missing.code, 2);
  t.ok(isOneLineError(missing.stderr), missing.stderr);
  t.match(missing.stderr, /--interval needs a value/);
  // Not "100ms is not a subcommand", with a command line that moves 100ms after --.
  const followed = await runBin(['--dir', dir, '--keep', '--interval', '100ms', '--', 'true']);
  t.equal(followed.code, 2);
  t.ok(isOneLineError(followed.stderr), followed.stderr);
  t.match(followed.stderr, /--keep needs a value/);
  t.equal(fs.existsSync(dir), false, 'no directory made');
});
