// Every problem with the --dir path is one line and exit 2, for run and for
// every subcommand, and ends at once (`--dir /proc/foo` once spun at 100%
// CPU): real processes of the built binary, each under a deadline.
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BIN, isOneLineError } from './harness.js';
import { execa } from 'execa';

const isRoot = process.getuid?.() === 0;

/** The binary with `argv`, killed (and reported as such) if it runs past `deadlineMs`. */
async function shmHost(argv: string[], options: { uid?: number } = {}): Promise<{ code: number; stderr: string; timedOut: boolean }> {
  const [file, args] = options.uid === undefined
    ? ['node', [BIN, ...argv]]
    : ['env', ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', 'setpriv', `--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', 'node', BIN, ...argv]];
  // As another user, without tap's NODE_OPTIONS (tap adds it to every spawn): its reports would not be writable.
  const r = await execa(file, args as string[], { reject: false, timeout: 15_000, input: '', cwd: '/' });
  return { code: r.exitCode ?? -1, stderr: String(r.stderr) + '\n', timedOut: r.timedOut };
}

/** Each way of naming the snapshot directory that reads (list), writes (prune, run, restore) or reaches a host (status, snapshot). */
const COMMANDS: Array<[string, string[]]> = [
  ['run', ['--', 'true']],
  ['list', ['list']],
  ['show', ['show', 'latest']],
  ['verify', ['verify', '--all']],
  ['prune', ['prune', '--keep', '2']],
  ['status', ['status']],
  ['snapshot', ['snapshot']],
  ['restore', ['restore', '--from', `file://${join(os.tmpdir(), 'shm-host-dir-paths-no-replica')}`]],
];
/** Those that reach a host: on a directory that does not exist, no host runs (exit 3), which is not a path problem. */
const HOST_CLIENTS = ['status', 'snapshot'];

async function expectPathProblem(t: Test, dir: string, pattern: RegExp, commands = COMMANDS, uid?: number): Promise<void> {
  await Promise.all(commands.map(async ([name, argv]) => {
    const r = await shmHost(['--dir', dir, ...argv], { uid });
    t.equal(r.timedOut, false, `${name}: ends by itself`);
    t.equal(r.code, 2, `${name}: exit 2 (${r.stderr.trim().slice(0, 200)})`);
    t.ok(isOneLineError(r.stderr), `${name}: one line`);
    t.match(r.stderr, pattern, `${name}: names the problem`);
  }));
}

t.test('a directory its file system will not create (/proc/foo)', async (t) => {
  // status on a directory that does not exist answers "no host" (exit 3): it is not a path problem.
  await expectPathProblem(t, '/proc/shm-host-test/state', /\/proc\/shm-host-test\/state.*(takes no new directories|does not exist)/, COMMANDS.filter(([n]) => !HOST_CLIENTS.includes(n)));
  t.equal(fs.existsSync('/proc/shm-host-test'), false);
});

t.test('a file where the directory should be, and a file in the middle of the path', async (t) => {
  const base = t.testdir({ file: 'x' });
  const file = join(base, 'file');
  await expectPathProblem(t, file, /not a directory/);
  await expectPathProblem(t, join(file, 'below'), /not a directory/);
  // The line names the file in the path, not the path below it, nor the control socket's path (status, snapshot), in the same words everywhere.
  await expectPathProblem(t, file, new RegExp(`^shm-host: snapshot path ${file} exists but is not a directory \\(`));
  await expectPathProblem(t, join(file, 'below'), new RegExp(`^shm-host: snapshot path ${file}/below: ${file} exists but is not a directory \\(name a path whose parents are directories: --dir\\)`));
  await expectPathProblem(t, join(file, 'below', 'deeper'), new RegExp(`: ${file} exists but is not a directory`));
  // A command that only reads is not told it may name a path that does not exist yet; a host and a restore are.
  const writers = ['run', 'restore'];
  await expectPathProblem(t, file, /^(?![^]*does not exist yet)[^]*not a directory/, COMMANDS.filter(([n]) => !writers.includes(n)));
  await expectPathProblem(t, file, /or a path that does not exist yet/, COMMANDS.filter(([n]) => writers.includes(n)));
});

t.test('prune, import and restore on a directory that does not exist: nothing is left behind', async (t) => {
  const base = t.testdir({ 'bad.shmx': 'not an export\n', replica: {}, kept: { other: 'x' } });
  // prune: the read commands' line (nothing to prune there), and nothing made.
  await expectPathProblem(t, join(base, 'nope', 'deep', 'er'), /snapshot directory .*nope\/deep\/er does not exist/, COMMANDS.filter(([n]) => n === 'prune'));
  t.equal(fs.existsSync(join(base, 'nope')), false, 'prune made no directory');
  const failed = async (argv: string[], pattern: RegExp): Promise<void> => {
    const r = await shmHost(argv);
    t.equal(r.code, 1, `${argv[0]}: exit 1 (${r.stderr.trim()})`);
    t.ok(isOneLineError(r.stderr), `${argv[0]}: one line`);
    t.match(r.stderr, pattern);
  };
  // A failed import or restore removes the directories it made, and only those.
  await failed(['import', join(base, 'bad.shmx'), '--dir', join(base, 'new', 'state')], /cannot import/);
  t.equal(fs.existsSync(join(base, 'new')), false, 'the failed import left no directory');
  await failed(['restore', '--from', `file://${join(base, 'replica')}`, '--dir', join(base, 'new2', 'state')], /no generation/);
  t.equal(fs.existsSync(join(base, 'new2')), false, 'the failed restore left no directory');
  await failed(['import', join(base, 'bad.shmx'), '--dir', join(base, 'kept', 'state')], /cannot import/);
  t.same(fs.readdirSync(join(base, 'kept')), ['other'], 'the parent that existed stays, with what it held');
  fs.mkdirSync(join(base, 'empty'), { mode: 0o700 });
  await failed(['import', join(base, 'bad.shmx'), '--dir', join(base, 'empty')], /cannot import/);
  t.equal(fs.existsSync(join(base, 'empty')), true, 'a directory that existed stays');
  // A successful one keeps its new directory.
  const state = join(base, 'made', 'state');
  t.equal((await shmHost(['--dir', join(base, 'source'), '--restart', 'never', '--', 'true'])).code, 0);
  t.equal((await shmHost(['export', 'latest', join(base, 'one.shmx'), '--dir', join(base, 'source')])).code, 0);
  const imported = await shmHost(['import', join(base, 'one.shmx'), '--dir', state]);
  t.equal(imported.code, 0, imported.stderr);
  t.ok(fs.readdirSync(state).includes('lock'), 'the import\'s directory holds its generation');
});

t.test('a symbolic link loop, and a name longer than the file system allows', async (t) => {
  const base = t.testdir();
  fs.symlinkSync('b', join(base, 'a'));
  fs.symlinkSync('a', join(base, 'b'));
  await expectPathProblem(t, join(base, 'a'), /symbolic links/);
  await expectPathProblem(t, join(base, 'x'.repeat(300)), /too long/);
});

t.test('an empty --dir is a usage error, not an internal one', async (t) => {
  await expectPathProblem(t, '', /--dir is empty/);
});

/** Why uid 65534 cannot run this checkout's binary (a clone under a private directory, say), or false. */
function nobodyCannotRun(): string | false {
  if (!isRoot) return 'needs root to run the binary as another user';
  try {
    fs.accessSync(BIN, fs.constants.R_OK);
  } catch {
    return `cannot read ${BIN}`;
  }
  // Every directory above the binary must let others in.
  for (let dir = join(BIN, '..'); ; dir = join(dir, '..')) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return `uid 65534 cannot reach ${BIN} (${dir} is closed to other users)`;
    if (dir === '/') return false;
  }
}

t.test('permission denied', { skip: nobodyCannotRun() }, async (t) => {
  const base = t.testdir({ closed: { inside: {} } });
  fs.chmodSync(join(base, 'closed'), 0o700);
  // uid 65534 (nobody) may not enter base/closed.
  fs.chmodSync(base, 0o755);
  await expectPathProblem(t, join(base, 'closed', 'inside'), /permission denied/, COMMANDS, 65534);
});

t.test('a read-only file system', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, async (t) => {
  // Not t.testdir(): tap would remove it before this test's teardown unmounts it.
  const mnt = fs.mkdtempSync(join(os.tmpdir(), 'shm-host-ro-'));
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mnt]);
  t.teardown(async () => {
    await execa('umount', [mnt]);
    fs.rmdirSync(mnt);
  });
  await execa('mount', ['-o', 'remount,ro', mnt]);
  const writers = COMMANDS.filter(([n]) => n === 'run' || n === 'prune');
  await expectPathProblem(t, mnt, /read-only/, writers);
  // prune makes no directory: a missing one is "does not exist", as for the read commands.
  await expectPathProblem(t, join(mnt, 'new'), /read-only/, writers.filter(([n]) => n === 'run'));
});
