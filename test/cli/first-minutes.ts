// What a new user types in the first minutes, and what they are told: the
// README's first commands, a program before `--`, a typo of a subcommand or
// an option, a negative size, a duration without a unit, and --help on an
// 80-column terminal.
import fs from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import { isOneLineError, runBin, runCli } from './harness.js';

const usage = async (t: Tap, argv: string[], line: string): Promise<void> => {
  const r = await runCli(argv);
  t.equal(r.code, 2, argv.join(' '));
  t.ok(isOneLineError(r.stderr), r.stderr);
  t.equal(r.stderr, `shm-host: ${line}\n`, argv.join(' '));
};
type Tap = typeof t;

t.test('a program given without -- is told to go after it', async (t) => {
  await usage(t, ['node', '-e', 'x'], "node is not a subcommand (to run a program, put it after --: shm-host -- node -e x)");
  await usage(t, ['--dir', './state', 'node', 'app.js'], 'node is not a subcommand (to run a program, put it after --: shm-host --dir ./state -- node app.js)');
  await usage(t, ['python3', '-c', 'print(1)'], "python3 is not a subcommand (to run a program, put it after --: shm-host -- python3 -c 'print(1)')");
});

t.test('a typo of a subcommand gets "did you mean"', async (t) => {
  await usage(t, ['verfy', '--all'], 'verfy is not a subcommand (did you mean verify? see shm-host --help)');
  await usage(t, ['lsit'], 'lsit is not a subcommand (did you mean list? see shm-host --help)');
  await usage(t, ['shwo', 'latest'], 'shwo is not a subcommand (did you mean show? see shm-host --help)');
  await usage(t, ['stauts'], 'stauts is not a subcommand (did you mean status? see shm-host --help)');
  await usage(t, ['--dir', 's', 'prnue', '--keep', '2'], 'prnue is not a subcommand (did you mean prune? see shm-host --help)');
  await usage(t, ['snaphsot'], 'snaphsot is not a subcommand (did you mean snapshot? see shm-host --help)');
  await usage(t, ['exprot', 'latest', 'x'], 'exprot is not a subcommand (did you mean export? see shm-host --help)');
});

t.test('a typo of an option gets "did you mean" too', async (t) => {
  await usage(t, ['verify', '--al'], 'unknown option: --al (did you mean --all?)');
  await usage(t, ['list', '--jsn'], 'unknown option: --jsn (did you mean --json?)');
  await usage(t, ['--intreval', '1s', '--', 'true'], 'unknown option: --intreval (did you mean --interval?)');
  await usage(t, ['list', '--bogus'], 'unknown option: --bogus (see shm-host list --help)');
});

t.test('the real binary names an unknown option as it was typed, dashes and all', async (t) => {
  const cases: Array<[string[], string]> = [
    [['list', '--dri', 'x'], 'unknown option: --dri (did you mean --dir?)'],
    [['list', '--dri=./state'], 'unknown option: --dri (did you mean --dir?)'],
    [['--dri', './state', '--', 'true'], 'unknown option: --dri (did you mean --dir?)'],
    [['--dri', '--', 'true'], 'unknown option: --dri (did you mean --dir?)'],
    [['list', '--no-jsn'], 'unknown option: --no-jsn (did you mean --no-json?)'],
    [['list', '-x'], 'unknown option: -x (see shm-host list --help)'],
    [['list', '-xy'], 'unknown options: -x, -y (see shm-host list --help)'],
    [['-x', '--', 'true'], 'unknown option: -x (see shm-host --help)'],
    [['list', '--foo-bar', '--baz'], 'unknown options: --foo-bar, --baz (see shm-host list --help)'],
    [['list', 'extra'], 'unknown argument: extra (see shm-host list --help)'],
    [['cat', 'latest', '--format', 'oct'], '--format oct: not one of raw, hex, base64 (see shm-host cat --help)'],
  ];
  const results = await Promise.all(cases.map(([argv]) => runBin(argv)));
  cases.forEach(([argv, line], i) => {
    t.equal(results[i]!.code, 2, argv.join(' '));
    t.equal(results[i]!.stderr, `shm-host: ${line}\n`, argv.join(' '));
  });
});

t.test('a repeated option: the last one wins, as on the fast path of run', async (t) => {
  const dir = t.testdir();
  const r = await runBin(['list', '--dir', `${dir}/none`, '--dir', dir]);
  t.same([r.code, r.stderr, r.out], [0, '', `no generations in ${dir} yet\n`]);
});

t.test('negative sizes, durations and counts name their own problem', async (t) => {
  await usage(t, ['--size', '-5M', '--', 'true'], '--size -5M: a size cannot be negative (give a positive size, e.g. --size 64M)');
  await usage(t, ['--size', '-5M'], '--size -5M: a size cannot be negative (give a positive size, e.g. --size 64M)');
  await usage(t, ['--interval', '-1s', '--', 'true'], '--interval -1s: a duration cannot be negative (e.g. --interval 1s, or --interval 0)');
  await usage(t, ['--stop-timeout', '-10s', '--', 'true'], '--stop-timeout -10s: a duration cannot be negative (e.g. --stop-timeout 1s, or --stop-timeout 0)');
  await usage(t, ['--keep', '-1', '--', 'true'], '--keep -1: not a whole number of at least 2 (e.g. --keep 3)');
  await usage(t, ['prune', '--keep', '-2'], '--keep -2: not a whole number of at least 2 (e.g. --keep 2: one bad write must never leave nothing to restore)');
});

t.test('a duration without a unit is refused with both readings, except 0', async (t) => {
  await usage(t, ['--interval', '1', '--', 'true'], '--interval 1: a duration needs a unit (write --interval 1s or --interval 1000ms; units are ms, s, m, h, d)');
  for (const option of ['--restart-window', '--restart-delay', '--stop-timeout']) {
    await usage(t, [option, '5', '--', 'true'], `${option} 5: a duration needs a unit (write ${option} 5s or ${option} 5000ms; units are ms, s, m, h, d)`);
  }
  await usage(t, ['status', '--timeout', '2'], '--timeout 2: a duration needs a unit (write --timeout 2s or --timeout 2000ms; units are ms, s, m, h, d)');
  const { parseDuration } = await import('../../src/cli/values.js');
  t.equal(parseDuration('--interval', '0'), 0);
  t.equal(parseDuration('--interval', '1h'), 3_600_000);
  t.equal(parseDuration('--interval', '250ms'), 250);
  t.equal(parseDuration('--restart-window', '1d'), 86_400_000);
  await usage(t, ['--interval', '1w', '--', 'true'], '--interval 1w: not a duration (use ms, s, m, h or d, e.g. --interval 500ms)');
  // Every unit a hint names is one the parser takes, and the other way round.
  const named = (argv: string[]) => runCli(argv).then((r) => /units are ([a-z, ]+)\)|use ([a-z, ]+) or ([a-z]+),/.exec(r.stderr)!.slice(1).filter(Boolean).join(', ').split(', '));
  for (const units of [await named(['--interval', '1', '--', 'true']), await named(['--interval', '1w', '--', 'true'])]) {
    t.same(units, ['ms', 's', 'm', 'h', 'd'], 'the units named');
    for (const unit of units) t.ok(parseDuration('--interval', `2${unit}`) > 0, `2${unit} is taken`);
  }
});

/** --help of `argv` as an 80-column terminal shows it. */
async function helpAt80(argv: string[]): Promise<string> {
  const out = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  t.equal(await main([...argv, '--help'], { stdout: out, stderr: out, stdin: Readable.from([]), env: {} }), 0);
  await new Promise((r) => setImmediate(r));
  return text;
}

t.test('--help examples never wrap in the middle of a command at 80 columns', async (t) => {
  // Every subcommand the program's help lists: one added later is checked too.
  const names = [...(await helpAt80([])).matchAll(/^ {2}shm-host (\w+)/gm)].map((m) => m[1]!);
  t.ok(names.includes('restore') && names.includes('run'), names.join(' '));
  for (const command of [[], ...names.map((n) => [n])]) {
    const help = await helpAt80(command);
    // A description that fills its column runs into yargs' [type] [default] without a space.
    t.notMatch(help, /\S\[(string|boolean|number|required|default|choices)/, `${command.join(' ') || 'shm-host'}: columns stay apart`);
    const examples = help.split('Examples:\n')[1]?.split('\n\n')[0]?.trimEnd();
    t.equal(help.split('\nExit codes: ').length, 2, `${command.join(' ') || 'shm-host'} ends with the exit codes, once`);
    t.ok(examples, `${command.join(' ') || 'shm-host'} has examples`);
    for (const line of examples!.split('\n')) {
      t.ok(line.length <= 80, `fits: ${line}`);
      t.match(line, /^ {2}(# |shm-host )/, `${command.join(' ') || 'shm-host'}: each line is a whole command or its comment: ${line}`);
    }
  }
});

t.test('the README runs shm-host only after a block that puts it on the PATH', async (t) => {
  const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  let installed = false;
  let runs = 0;
  for (const block of readme.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const command = line.replace(/#.*$/, '').trim();
      if (/\bnpm (install|i) (-g|--global)\b/.test(command)) installed = true;
      // shm-host as a command of its own (at the start, or after a pipe or &&), not npx shm-host or ssh host shm-host.
      if (/(^|[|;&]\s*)shm-host\b/.test(command)) {
        runs++;
        t.ok(installed, `a newcomer on a fresh clone can run: ${command}`);
      }
    }
  }
  t.ok(runs > 0, 'the README shows shm-host being run');
});
