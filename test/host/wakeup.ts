// Wakeup (src/host/wakeup.ts): an interruptible sleep. wake() ends the
// current sleep at once and every later one too (the host is stopping).
import t from 'tap';
import { Wakeup } from '../../src/host/wakeup.js';

t.test('a sleep nobody wakes ends by itself, false', async (t) => {
  t.equal(await new Wakeup().sleep(1), false);
});

t.test('wake() ends the current sleep at once, true, and every later one', async (t) => {
  const w = new Wakeup();
  const long = w.sleep(60_000); // would hold the test for a minute if wake() did not end it
  w.wake();
  t.equal(await long, true);
  t.equal(await w.sleep(60_000), true, 'a later sleep returns at once');
  w.wake(); // twice is harmless
});

t.test('a sleep lasts at least its time on the monotonic clock (a timer can fire up to a millisecond early by it)', async (t) => {
  const w = new Wakeup();
  let shortest = Infinity;
  for (let i = 0; i < 200; i++) {
    // Busy for a moment first, as the host is between the event loop's clock update and the sleep.
    const busy = performance.now() + 0.7;
    while (performance.now() < busy);
    const t0 = performance.now();
    await w.sleep(2);
    shortest = Math.min(shortest, performance.now() - t0);
  }
  t.ok(shortest >= 2, `the shortest of 200 sleeps of 2 ms took ${shortest.toFixed(3)} ms`);
});
