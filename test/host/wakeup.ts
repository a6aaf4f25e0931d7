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
