// RestartTimeline (src/host/restart-timeline.ts): the phases of one restart
// on the monotonic clock, the record `status` keeps and the log line.
import t from 'tap';
import { RestartTimeline, describeTimeline, finishTimeline } from '../../src/host/restart-timeline.js';
import type { Logger, LogLevel } from '../../src/host/index.js';

t.test('the phases add up to the total, in order, never negative', async (t) => {
  const timeline = new RestartTimeline();
  for (let i = 0; i < 3; i++) timeline.mark();
  const r = timeline.finish(4);
  t.equal(r.restart, 4);
  t.ok(!Number.isNaN(Date.parse(r.deathSeenAt)), 'death seen: an ISO time');
  for (const k of ['reapMs', 'copyMs', 'delayMs', 'spawnMs', 'totalMs'] as const) t.ok(r[k] >= 0, `${k} ${r[k]} >= 0`);
  t.ok(Math.abs(r.reapMs + r.copyMs + r.delayMs + r.spawnMs - r.totalMs) <= 0.05, 'phases sum to the total (rounding aside)');
});

t.test('missing marks: the phases not marked take no time', async (t) => {
  const r = new RestartTimeline().finish(1);
  t.equal(r.copyMs, 0);
  t.equal(r.delayMs, 0);
  t.equal(r.spawnMs, 0, 'everything is in the first phase');
});

t.test('describeTimeline and finishTimeline: one info line with the record as fields', async (t) => {
  const record = { restart: 2, deathSeenAt: '2026-01-01T00:00:00.000Z', reapMs: 0.4, copyMs: 3.1, delayMs: 100, spawnMs: 2.5, totalMs: 106 };
  t.equal(describeTimeline(record), 'death seen -> group reaped 0.4 ms -> memory copied and proven 3.1 ms -> delay 100 ms -> child spawned 2.5 ms (106 ms in all)');
  const lines: Array<[LogLevel, string, string, Record<string, unknown> | undefined]> = [];
  const log: Logger = { log: (level, event, message, fields) => { lines.push([level, event, message, fields]); } };
  const timeline = new RestartTimeline();
  const got = finishTimeline(timeline, 3, log);
  t.equal(lines.length, 1);
  t.equal(lines[0]![0], 'info');
  t.equal(lines[0]![1], 'restart-timeline');
  t.equal(lines[0]![2], `restart 3: ${describeTimeline(got)}`);
  t.same(lines[0]![3], got);
});
