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

t.test('with dependencies: what the newest N and the protected one need stays, nothing else', async (t) => {
  const { dependentRetentionVictims, deltaAllowed, checkChainLimits, DEFAULT_CHAIN_LIMITS } = await import('../../src/store/retention.js');
  // 1 full, 2 and 3 deltas of it; 4 full, 5 delta of 4; 6 delta of 5.
  const parents = new Map<number, number | null>([[1, null], [2, 1], [3, 2], [4, null], [5, 4], [6, 5]]);
  const all = [6, 5, 4, 3, 2, 1];
  t.same(dependentRetentionVictims(all, 3, 6, parents), [3, 2, 1], 'the newest 3 form their own chain');
  t.same(dependentRetentionVictims(all, 2, 6, parents), [3, 2, 1], '6 and 5 need 4');
  t.same(dependentRetentionVictims([3, 2, 1], 2, 3, new Map([[1, null], [2, 1], [3, 2]])), [], '3 and 2 need 1: nothing goes');
  t.same(dependentRetentionVictims(all, 2, 3, parents), [], 'the protected 3 keeps its chain 2 and 1; 6 and 5 keep 4');
  t.same(dependentRetentionVictims([7, 6, 5, 4, 3, 2, 1], 2, 7, new Map([...parents, [7, null]])), [3, 2, 1], '7 is full; 6 still needs 5 and 4');
  t.same(dependentRetentionVictims([8, 7, 6, 5, 4, 3, 2, 1], 2, 8, new Map([...parents, [7, null], [8, 7]])), [6, 5, 4, 3, 2, 1], 'once the newest N are a new chain, the old ones go');
  t.same(dependentRetentionVictims([3, 2, 1], 2, 3, new Map([[3, 2]])), [1], 'an unreadable manifest (2) stays while kept, and keeps nothing');
  t.equal(deltaAllowed({ links: 9, bytes: 0 }, 100, DEFAULT_CHAIN_LIMITS), true);
  t.equal(deltaAllowed({ links: 10, bytes: 0 }, 100, DEFAULT_CHAIN_LIMITS), false, 'past maxChain: a full one');
  t.equal(deltaAllowed({ links: 1, bytes: 51 }, 100, DEFAULT_CHAIN_LIMITS), false, 'past a quarter of the image in deltas: a full one');
  t.equal(deltaAllowed({ links: 0, bytes: 0 }, 100, { maxChain: 0, maxChainRatio: 0.5 }), false, 'maxChain 0: always full');
  t.equal(deltaAllowed({ links: 0, bytes: 0 }, 100, { maxChain: 10, maxChainRatio: 0 }), false, 'maxChainRatio 0: always full, even on a full parent');
  t.equal(deltaAllowed({ links: 1, bytes: 25 }, 100, DEFAULT_CHAIN_LIMITS), false, 'deltas holding exactly the ratio: a full one');
  t.equal(deltaAllowed({ links: 1, bytes: 24 }, 100, DEFAULT_CHAIN_LIMITS), true, 'just under it: a delta');
  t.equal(deltaAllowed({ links: 999, bytes: 0 }, 100, { maxChain: 1000, maxChainRatio: 10 }), true, 'the highest limits: the 1000th delta');
  t.equal(deltaAllowed({ links: 1000, bytes: 0 }, 100, { maxChain: 1000, maxChainRatio: 10 }), false, 'but not a 1001st');
  t.throws(() => checkChainLimits({ maxChain: -1, maxChainRatio: 0.5 }), RangeError);
  t.throws(() => checkChainLimits({ maxChain: 3, maxChainRatio: Number.NaN }), RangeError);
});
