// mapInOrder: results in the items' order whatever order the steps end in,
// never more than `limit` steps at once, and a rejection only once the
// steps in flight have settled.
import t from 'tap';
import { setImmediate as tick } from 'node:timers/promises';
import { mapInOrder } from '../../src/store/in-order.js';

t.test('results keep the items\' order and at most `limit` steps run at once', async (t) => {
  let running = 0;
  let most = 0;
  const items = Array.from({ length: 20 }, (_, i) => i);
  const out = await mapInOrder(items, async (i) => {
    running++;
    most = Math.max(most, running);
    // Later items finish first.
    for (let k = 0; k < 20 - i; k++) await tick();
    running--;
    return i * 10;
  }, 3);
  t.same(out, items.map((i) => i * 10));
  t.equal(most, 3, 'three in flight, no more');
  t.same(await mapInOrder([], async () => 1), [], 'no items: no results');
});

t.test('a rejection comes after the steps in flight have settled, and no new step starts', async (t) => {
  const started: number[] = [];
  let settled = 0;
  const err = await mapInOrder([0, 1, 2, 3, 4], async (i) => {
    started.push(i);
    if (i === 0) throw new Error('step 0 failed');
    for (let k = 0; k < 5; k++) await tick();
    settled++;
    return i;
  }, 2).catch((e: unknown) => e);
  t.match(err, { message: 'step 0 failed' });
  t.same(started, [0, 1], 'the step in flight ran on, none started after the failure');
  t.equal(settled, 1, 'and it settled before the rejection');
});
