// Every option of every subcommand that takes a bounded number says its
// range in --help, and a value past either end is a usage error naming the
// option (exit 2, one line) before anything is created or asked. An option
// added later is either listed here with its range or as one that takes no
// number: the test fails until it is.
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import yargs from 'yargs';
import type { CliCommand } from '../../src/cli/command.js';
import { STORE_BOUNDS, interpretRunOptions, type RawRunOptions } from '../../src/cli/run-options.js';
import { MAX_CHAIN_LIMITS, MIN_KEEP } from '../../src/store/index.js';
import { SUBCOMMANDS, helpEntry, isOneLineError, runCli } from './harness.js';

const COMMANDS = SUBCOMMANDS;

/**
 * A bounded option: what it takes (a whole number, a fraction, a size or a
 * duration), the range its --help states, values past each end, and what
 * else the command line needs.
 */
interface Bounded {
  readonly kind: 'whole' | 'fraction' | 'size' | 'duration';
  readonly range: RegExp;
  readonly refused: readonly string[];
  readonly before?: readonly string[];
}
const TIMER = { kind: 'duration', range: /0 to 24d/, refused: ['-1s', '25d'] } as const;
const BOUNDED: Record<string, Record<string, Bounded>> = {
  run: {
    size: { kind: 'size', range: /12K to 1T/, refused: ['11K', '2T'] },
    interval: TIMER,
    keep: { kind: 'whole', range: /at least 2/, refused: ['1'] },
    'max-chain': { kind: 'whole', range: /0 to 1000/, refused: ['-1', '1001'] },
    'max-chain-ratio': { kind: 'fraction', range: /0 to 10/, refused: ['-0.1', '10.5'] },
    'max-restarts': { kind: 'whole', range: /0 or more/, refused: ['-1'] },
    'restart-window': { kind: 'duration', range: /longer than 0/, refused: ['0'] },
    'restart-delay': TIMER,
    'restart-max-delay': { kind: 'duration', range: /--restart-delay to 24d/, refused: ['25d'], before: ['--restart-delay', '1s'] },
    'stop-timeout': TIMER,
    'replica-keep': { kind: 'whole', range: /at least 1/, refused: ['0'], before: ['--replica', 'file:///nowhere'] },
    'replica-keep-for': { kind: 'duration', range: /0 or more/, refused: ['-1s'], before: ['--replica', 'file:///nowhere'] },
  },
  // Bounded by the tail of the generation read: a value past it is exit 1 (test/cli/inspect.ts).
  cat: {
    offset: { kind: 'size', range: /0 to the tail's size/, refused: [], before: ['latest', '--tail'] },
    length: { kind: 'size', range: /up to the tail's end/, refused: [], before: ['latest', '--tail'] },
  },
  prune: { keep: { kind: 'whole', range: /at least 2/, refused: ['1'] } },
  restore: { sequence: { kind: 'whole', range: /1 or more/, refused: ['0'], before: ['--from', 'file:///nowhere'] } },
  status: { timeout: TIMER },
  snapshot: { timeout: TIMER },
};
/**
 * Values of each kind that JavaScript's Number() or a lax pattern would
 * read as a number, and that are not a plain decimal (with the kind's unit):
 * each is refused, not read as 1, 10, 16 or Infinity.
 */
const NOT_PLAIN: Record<Bounded['kind'], readonly string[]> = {
  whole: ['0x3', '1e1', '3e0', 'Infinity', ' 3', '3 ', '+3', '3.', '0b11', '3_0', '３'],
  fraction: ['0x1', '1e-1', '1e1', 'Infinity', 'NaN', ' 0.5', '0.5 ', '+0.5', '0.', '0b1', '0o1', '1_0', '', ' '],
  size: ['0x1M', '1e3', '1e1M', 'InfinityK', ' 64M', '64M ', '64 M', '+64M', '0.1K', '1.5'],
  duration: ['0x1s', '1e1s', '1e3ms', 'Infinitys', ' 1s', '1s ', '1 s', '+1s', '0.0001s', '1.5ms'],
};
/** A plain value of each kind, taken (in its range for every option that kind has here). */
const PLAIN: Record<Bounded['kind'], readonly string[]> = { whole: [], fraction: ['.5', '0.25', '3', '0', '10'], size: [], duration: [] };

/** Options that take a value other than a number. */
const NOT_NUMBERS = new Set(['dir', 'restart', 'log-format', 'replica', 'replica-endpoint', 'replica-region', 'record', 'format', 'from']);

/** The options of `command` that take a value, its positionals left out. */
function valueOptions(command: CliCommand<any>): string[] {
  const usage = [command.command].flat().join(' ');
  const positionals = new Set([...usage.matchAll(/[<[]([\w-]+)(?:\.\.)?[>\]]/g)].map((m) => m[1]));
  const parser = command.builder(yargs()) as unknown as { getOptions(): { string: string[] } };
  return parser.getOptions().string.filter((name) => name.length > 1 && !/[A-Z]/.test(name) && !positionals.has(name));
}

t.test('every value option is a bounded number whose --help states its range, or no number at all', async (t) => {
  for (const [name, load] of Object.entries(COMMANDS)) {
    const help = (await runCli([name, '--help'])).out;
    for (const option of valueOptions(await load())) {
      const bounded = BOUNDED[name]?.[option];
      if (bounded === undefined) {
        t.ok(NOT_NUMBERS.has(option), `${name} --${option}: listed here, with its range or as no number`);
        continue;
      }
      t.match(helpEntry(help, option), bounded.range, `${name} --${option}: --help states ${bounded.range.source}`);
    }
  }
});

t.test('a value past either end: one line naming the option, exit 2, nothing created', async (t) => {
  const dir = t.testdir();
  const state = join(dir, 'state');
  for (const [name, options] of Object.entries(BOUNDED)) {
    for (const [option, { refused, before = [] }] of Object.entries(options)) {
      for (const value of refused) {
        const argv = name === 'run' ? ['--dir', state, ...before, `--${option}=${value}`, '--', 'true'] : [name, '--dir', state, ...before, `--${option}=${value}`];
        const r = await runCli(argv);
        t.equal(r.code, 2, `${argv.join(' ')}: exit 2 (${r.stderr.trim()})`);
        t.ok(isOneLineError(r.stderr), `${argv.join(' ')}: one line`);
        t.match(r.stderr, `--${option} ${value}`, `${argv.join(' ')}: names the option and the value`);
      }
    }
  }
  t.same(fs.readdirSync(dir), [], 'nothing was created');
});

t.test('the run options at their bounds are taken as given', async (t) => {
  const raw = (extra: Partial<RawRunOptions>): RawRunOptions => ({
    dir: 'd', size: '64M', interval: '1s', keep: '3', 'max-chain': '10', 'max-chain-ratio': '0.25', restart: 'on-failure', 'max-restarts': '10',
    'restart-window': '60s', 'restart-delay': '100ms', 'stop-timeout': '10s', 'log-format': 'text', quiet: false, command: ['true'], ...extra,
  });
  const day = 86_400_000;
  t.match(interpretRunOptions(raw({ size: '12K', 'max-chain': '0', 'max-chain-ratio': '0', 'max-restarts': '0', interval: '0', 'stop-timeout': '0' })),
    { size: 12 * 1024, maxChain: 0, maxChainRatio: 0, maxRestarts: 0, intervalMs: 0, stopTimeoutMs: 0 });
  t.match(interpretRunOptions(raw({ size: '1T', 'max-chain': '1000', 'max-chain-ratio': '10', interval: '24d', 'stop-timeout': '24d', 'restart-delay': '24d', 'restart-max-delay': '24d' })),
    { size: 2 ** 40, maxChain: 1000, maxChainRatio: 10, intervalMs: 24 * day, stopTimeoutMs: 24 * day, restartDelayMs: 24 * day, restartMaxDelayMs: 24 * day });
});

t.test("the CLI's restated bounds are the store's", async (t) => {
  t.same(STORE_BOUNDS, { maxChain: MAX_CHAIN_LIMITS.maxChain, maxChainRatio: MAX_CHAIN_LIMITS.maxChainRatio, minKeep: MIN_KEEP });
});

t.test('a number that is not a plain decimal: one line naming the option and the value, exit 2, nothing created', async (t) => {
  const dir = t.testdir();
  const state = join(dir, 'state');
  let checked = 0;
  for (const [name, options] of Object.entries(BOUNDED)) {
    for (const [option, { kind, before = [] }] of Object.entries(options)) {
      for (const value of NOT_PLAIN[kind]) {
        const argv = name === 'run' ? ['--dir', state, ...before, `--${option}=${value}`, '--', 'true'] : [name, '--dir', state, ...before, `--${option}=${value}`];
        const r = await runCli(argv);
        t.equal(r.code, 2, `${JSON.stringify(argv)}: exit 2 (${r.stderr.trim()})`);
        t.ok(isOneLineError(r.stderr), `${JSON.stringify(argv)}: one line`);
        // An empty value is refused by name alone (`--x needs a value`, test/cli/option-values.ts).
        t.match(r.stderr, value.trim() === '' ? `--${option}` : `--${option} ${value}`, `${JSON.stringify(argv)}: names the option and the value`);
        t.match(r.stderr, /e\.g\. --|needs a value/, `${JSON.stringify(argv)}: gives an example`);
        checked++;
      }
    }
  }
  t.ok(checked > 150, `${checked} command lines checked`);
  t.same(fs.readdirSync(dir), [], 'nothing was created');
});

t.test('plain decimals are taken as the numbers they read as', async (t) => {
  const raw = (ratio: string): RawRunOptions => ({
    dir: 'd', size: '64M', interval: '1s', keep: '3', 'max-chain': '10', 'max-chain-ratio': ratio, restart: 'on-failure', 'max-restarts': '10',
    'restart-window': '60s', 'restart-delay': '100ms', 'stop-timeout': '10s', 'log-format': 'text', quiet: false, command: ['true'],
  });
  for (const value of PLAIN.fraction) t.equal(interpretRunOptions(raw(value)).maxChainRatio, Number(value), `--max-chain-ratio ${value}`);
  t.match(interpretRunOptions({ ...raw('0.25'), size: '1.5M', interval: '1.5s', 'stop-timeout': '.5s' }), { size: 1.5 * 1024 * 1024, intervalMs: 1500, stopTimeoutMs: 500 });
});
