// Plain-text output helpers.
import t from 'tap';
import { fields, humanDuration, shortTime, table } from '../../src/cli/text.js';

t.test('durations read like a person would say them', async (t) => {
  t.equal(humanDuration(12), '12ms');
  t.equal(humanDuration(4500), '4.5s');
  t.equal(humanDuration(61_000), '1m 1s');
  t.equal(humanDuration(3_600_000 + 120_000), '1h 2m');
  t.equal(humanDuration(93_784_000), '1d 2h 3m');
  t.equal(humanDuration(-1), '?');
  t.equal(humanDuration(Number.NaN), '?');
});

t.test('times lose their milliseconds', async (t) => {
  t.equal(shortTime('2024-05-01T12:00:00.123Z'), '2024-05-01T12:00:00Z');
  t.equal(shortTime('2024-05-01T12:00:00Z'), '2024-05-01T12:00:00Z');
});

t.test('tables align columns; a left-aligned last column is not padded', async (t) => {
  t.equal(table(['seq', 'reason'], [['1', 'interval'], ['12', 'post-mortem']], ['right']),
    'seq  reason\n  1  interval\n 12  post-mortem\n');
  t.equal(fields([['size', '64 MiB'], ['records', '3'], ['', 'more']]), 'size:    64 MiB\nrecords: 3\n         more\n');
});
