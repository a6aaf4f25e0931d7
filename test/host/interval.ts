// The interval schedule: its back-off after failed captures, and the schedule itself with real timers.
import t from 'tap';
import { MAX_CAPTURE_BACKOFF_MS, captureBackoffMs } from '../../src/host/index.js';
import { IntervalSchedule } from '../../src/host/interval.js';
import { HostState } from '../../src/host/host-state.js';

t.test('failed captures double the delay, capped at 5 s or the interval when that is longer', async (t) => {
  t.equal(MAX_CAPTURE_BACKOFF_MS, 5000);
  t.same([0, 1, 2, 3, 4, 5, 10].map((f) => captureBackoffMs(500, f)), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  t.same([0, 1, 2].map((f) => captureBackoffMs(10_000, f)), [10_000, 10_000, 10_000], 'a long interval is never shortened');
  t.equal(captureBackoffMs(100, 0), 100, 'no failure: the interval itself');
});


/** Polls `ok` every few ms until it holds or `ms` pass. */
async function until(ok: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

t.test('a schedule captures while the child commits, skips while it is idle, and stops with it', async (t) => {
  const state = new HostState('x', []);
  const child = {};
  let current: object | null = child;
  let committed = true;
  let captures = 0;
  const schedule = new IntervalSchedule(20, state, {
    child: () => current,
    committedSince: () => committed,
    capture: async () => { captures += 1; },
  });
  schedule.start();
  t.ok(state.nextCaptureDue !== null, 'the next capture is due');
  t.ok(await until(() => captures >= 3), 'captures every interval while the child commits');
  committed = false;
  const seen = captures;
  // Ticks keep coming (the schedule stays armed) but take nothing.
  await new Promise((r) => setTimeout(r, 100));
  t.ok(captures <= seen + 1, 'an idle child is not captured (one capture may have been in flight)');
  t.ok(state.nextCaptureDue !== null, 'still scheduled while idle');
  current = null;
  committed = true;
  const before = captures;
  await new Promise((r) => setTimeout(r, 60));
  t.equal(captures, before, 'no capture once the child is gone');
  schedule.stop();
  t.equal(state.nextCaptureDue, null);
});

t.test('failing captures push the next one out by the back-off', async (t) => {
  const state = new HostState('x', []);
  const child = {};
  const times: number[] = [];
  const schedule = new IntervalSchedule(10, state, {
    child: () => child,
    committedSince: () => true,
    capture: async () => { times.push(performance.now()); throw new Error('disk full'); },
  });
  schedule.start();
  t.ok(await until(() => times.length >= 4), 'keeps trying');
  schedule.stop();
  const gaps = times.slice(1).map((time, i) => time - times[i]!);
  // Delays 20, 40, 80 ms after 1, 2, 3 failures (a timer never fires early).
  t.ok(gaps[0]! >= 19 && gaps[1]! >= 39 && gaps[2]! >= 79, `gaps grow: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
});

t.test('an interval of 0 schedules nothing', async (t) => {
  const state = new HostState('x', []);
  const schedule = new IntervalSchedule(0, state, { child: () => ({}), committedSince: () => true, capture: async () => { t.fail('no capture'); } });
  schedule.start();
  t.equal(state.nextCaptureDue, null);
  schedule.stop();
});
