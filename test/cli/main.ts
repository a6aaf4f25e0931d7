// The command-line framework: help, version, usage errors and how failures
// become one line and an exit code; the real binary for a few cases.
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import t from 'tap';
import { CommandFailure, UsageError, explain } from '../../src/cli/errors.js';
import { FormatError } from '../../src/format/index.js';
import { ControlError } from '../../src/host/control/index.js';
import { StoreError } from '../../src/store/index.js';
import { SysError } from '../../src/sys/index.js';
import { BIN, isOneLineError, runBin, runCli } from './harness.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SUBCOMMANDS = ['list', 'show', 'verify', 'cat', 'export', 'import', 'prune', 'restore', 'status', 'snapshot'];

t.test('--version prints the package version', async (t) => {
  const r = await runCli(['--version']);
  t.equal(r.code, 0);
  t.equal(r.out, `${version}\n`);
});

t.test('--help lists every subcommand; each subcommand has its own help', async (t) => {
  const r = await runCli(['--help']);
  t.equal(r.code, 0);
  for (const name of SUBCOMMANDS) t.match(r.out, new RegExp(`shm-host ${name}\\b`), `program help names ${name}`);
  t.match(r.out, /Exit codes: 0 ok, 1 .*, 2 usage error, 3 no running host/);
  t.match(r.out, /^shm-host \[run\] \[options\] -- <command> \[args\.\.\.\]\n/, 'the program help starts with how to run a command');
  for (const name of SUBCOMMANDS) {
    const sub = await runCli([name, '--help']);
    t.equal(sub.code, 0, `${name} --help exits 0`);
    t.match(sub.out, new RegExp(`^shm-host ${name}`), `${name} --help starts with its usage`);
    t.match(sub.out, /--dir/, `${name} --help explains --dir`);
    t.match(sub.out, /Examples:/, `${name} --help shows examples`);
    t.equal(sub.stderr, '');
  }
});

t.test('usage errors: one line naming the problem and the fix, exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['lst'], /^shm-host: lst is not a subcommand \(did you mean list\? see shm-host --help\)\n$/],
    [['myapp'], /^shm-host: myapp is not a subcommand \(to run a program, put it after --: shm-host -- myapp\)\n$/],
    [['list', '--bogus'], /^shm-host: unknown option: --bogus \(see shm-host list --help\)\n$/],
    [['show'], /^shm-host: show needs <ref> \(see shm-host show --help\)\n$/],
    [['export', 'latest'], /^shm-host: export needs <ref> <file> \(see shm-host export --help\)/],
    [['list', '--dir'], /^shm-host: --dir needs a value/],
    [['prune'], /^shm-host: missing required option --keep \(see shm-host prune --help\)/],
    [['prune', '--keep', '1'], /^shm-host: --keep 1: not a whole number of at least 2/],
    [['prune', '--keep', 'two'], /^shm-host: --keep two: not a whole number/],
    [['cat', 'latest', '--format', 'oct'], /^shm-host: --format oct: not one of raw, hex, base64 \(see shm-host cat --help\)\n$/],
    [['cat', 'latest', '--tail', '--record', 'all'], /^shm-host: --tail and --record cannot be combined/],
    [['cat', 'latest', '--json', '--format', 'hex'], /^shm-host: --json and --format cannot be combined/],
    [['show', '0'], /^shm-host: 0 is not a generation sequence number \(sequences start at 1/],
    [['show', 'latest~x'], /^shm-host: latest~x is not a valid <ref> \(a <ref> is a sequence number, latest, latest~N/],
    [['verify', 'latest', '--all'], /^shm-host: give either a <ref> \(latest\) or --all, not both/],
    [['status', '--timeout', 'soon'], /^shm-host: --timeout soon: not a duration/],
    [['--restart-delay', '1s', '--restart-max-delay', '500ms', '--', 'true'], /^shm-host: --restart-max-delay 500ms: shorter than --restart-delay 1s \(give at least the first delay; equal means a constant delay/],
    [['--restart-max-delay', 'soon', '--', 'true'], /^shm-host: --restart-max-delay soon: not a duration/],
  ];
  for (const [argv, expected] of cases) {
    const r = await runCli(argv);
    t.equal(r.code, 2, `${argv.join(' ')} exits 2`);
    t.match(r.stderr, expected, argv.join(' '));
    t.ok(isOneLineError(r.stderr), `${argv.join(' ')}: one line`);
    // With --json, the error as a document (test/cli/json-errors.ts); else nothing on stdout.
    if (argv.includes('--json')) t.match(JSON.parse(r.out), { error: { code: 'USAGE', exitCode: 2 } }, `${argv.join(' ')}: an error document`);
    else t.equal(r.out, '', `${argv.join(' ')}: nothing on stdout`);
  }
});

t.test('expected failures print one line and exit 1; with --json also an error document', async (t) => {
  const dir = t.testdir();
  const line = `there is no generation 99 in ${dir} (list the generations to see which exist)`;
  const r = await runCli(['show', '99', '--dir', dir]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `shm-host: ${line}\n`);
  const j = await runCli(['show', '99', '--dir', dir, '--json']);
  t.equal(j.code, 1);
  t.same(JSON.parse(j.out), { error: { code: 'NOT_FOUND', message: line, exitCode: 1 } });
});

t.test('a --dir that does not exist, for a command that only reads, is a problem of the command line: exit 2', async (t) => {
  const dir = `${t.testdir()}/missing`;
  const j = await runCli(['list', '--dir', dir, '--json']);
  t.equal(j.code, 2);
  t.same(JSON.parse(j.out), { error: { code: 'NOT_FOUND', message: `snapshot directory ${dir} does not exist (check the snapshot directory path: --dir)`, exitCode: 2 } });
});

t.test('explain() sorts errors into expected ones and bugs', async (t) => {
  t.same(explain(new UsageError('bad', 'fix it')), { exitCode: 2, code: 'USAGE', line: 'bad (fix it)', expected: true });
  t.same(explain(new CommandFailure('X', 'broken\nacross lines', null, { exitCode: 4 })), { exitCode: 4, code: 'X', line: 'broken across lines', expected: true });
  t.same(explain(new StoreError('LOCKED', 'dir is in use', { path: '/d', hint: 'stop it' })), { exitCode: 1, code: 'LOCKED', line: 'dir is in use (stop it)', expected: true });
  t.same(explain(new ControlError('NO_HOST', 'nobody there', { path: '/d', hint: 'start one' })), { exitCode: 3, code: 'NO_HOST', line: 'nobody there (start one)', expected: true });
  t.equal(explain(new FormatError('BAD_MAGIC', 'not ours')).exitCode, 1);
  t.equal(explain(new SysError('flock', 11)).code, 'EAGAIN');
  const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', path: '/x' });
  t.same(explain(enoent), { exitCode: 1, code: 'ENOENT', line: '/x: no such file or directory (ENOENT)', expected: true });
  const bug = explain(new TypeError('x is not a function'));
  t.equal(bug.expected, false);
  t.equal(bug.line, 'internal error: x is not a function (set SHM_HOST_DEBUG=1 to see where, and report it)');
});

t.test('the real binary: version, help, a usage error and an expected failure', async (t) => {
  const [v, h, u, f] = await Promise.all([
    runBin(['--version']),
    runBin(['cat', '--help']),
    runBin(['show']),
    runBin(['show', '99', '--dir', t.testdir()]),
  ]);
  t.equal(v.code, 0);
  t.equal(v.out, `${version}\n`);
  t.equal(h.code, 0);
  t.match(h.out, /--record/);
  t.equal(u.code, 2);
  t.ok(isOneLineError(u.stderr), u.stderr);
  t.equal(f.code, 1);
  t.ok(isOneLineError(f.stderr), f.stderr);
});

t.test('a reader that goes away (| head -c) ends the command quietly', async (t) => {
  const dir = t.testdir();
  const { writeGenerations } = await import('../../fixtures/cli-store.js');
  await writeGenerations(dir, { generations: 1, perGeneration: 1, size: 4 * 1024 * 1024, ringSize: 8192 });
  // 4 MiB of tail through a pipe closed after one byte.
  const direct = await execa('bash', ['-c', `set -o pipefail; node ${BIN} cat latest --tail --dir ${dir} | head -c 1 >/dev/null`], { reject: false });
  t.equal(direct.exitCode, 0, 'exit 0: the reader took what it wanted');
  t.equal(direct.stderr, '');
});
