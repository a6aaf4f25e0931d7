// Which generations retention deletes (a pure decision).
import t from 'tap';
import { DEFAULT_KEEP, MIN_KEEP, checkKeep, retentionVictims } from '../../src/store/retention.js';

t.test('keep: at least two, three by default', async (t) => {
  t.equal(MIN_KEEP, 2);
  t.equal(DEFAULT_KEEP, 3);
  t.equal(checkKeep(2), 2);
  for (const bad of [1, 0, -3, 2.5, Number.NaN]) t.throws(() => checkKeep(bad), RangeError, String(bad));
});

t.test('the newest `keep` stay; the newest verified one is spared wherever it is', async (t) => {
  t.same(retentionVictims([5, 4, 3, 2, 1], 3, 5), [2, 1]);
  t.same(retentionVictims([5, 4, 3, 2, 1], 3, null), [2, 1]);
  t.same(retentionVictims([5, 4, 3, 2, 1], 3, 1), [2], 'the only good generation is older than the kept ones');
  t.same(retentionVictims([2, 1], 3, 2), [], 'fewer than keep: nothing');
});
