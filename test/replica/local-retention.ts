// Local retention spares what the replica still needs (StoreOptions.spare,
// which the host points at Replicator.needed()), beyond --keep, never
// instead of the newest generations.
import t from 'tap';
import { SnapshotStore } from '../../src/store/index.js';
import { capture } from '../../src/live/index.js';
import { commitRecords, liveFile, scratchDir } from '../store/helpers.js';

t.test('retention keeps the generations the replica still needs', async (t) => {
  const dir = scratchDir(t);
  const { fd, state } = liveFile(t);
  let needed = new Set<number>([2]);
  // Full generations (maxChain 0): the counts below are exactly keep plus what is spared.
  const store = await SnapshotStore.open(dir, { keep: 2, chain: { maxChain: 0 }, spare: () => needed });
  t.teardown(() => store.close());
  for (let i = 0; i < 5; i++) {
    commitRecords(state, 2);
    await capture(fd, store, 'interval');
  }
  t.same((await store.list()).map((g) => g.sequence), [5, 4, 2], 'generation 2 outlives --keep 2 while needed');
  needed = new Set();
  commitRecords(state, 2);
  await capture(fd, store, 'interval');
  t.same((await store.list()).map((g) => g.sequence), [6, 5], 'and goes at the next pass once it is not');
});

t.test('a spared delta keeps the chain it needs to be read', async (t) => {
  const dir = scratchDir(t);
  const { fd, state } = liveFile(t);
  const store = await SnapshotStore.open(dir, { keep: 2, spare: () => new Set([3]) });
  t.teardown(() => store.close());
  for (let i = 0; i < 6; i++) {
    commitRecords(state, 2);
    await capture(fd, store, 'interval');
  }
  const spared = await store.get(3);
  t.equal(spared.manifest.kind, 'delta', 'generation 3 is a delta');
  const chain = (await store.chainOf(spared)).map((g) => g.sequence);
  const kept = new Set((await store.list()).map((g) => g.sequence));
  t.ok(chain.every((s) => kept.has(s)), `its chain ${chain.join(' <- ')} is all still there`);
  t.equal((await store.verify(spared)).ok, true, 'and it verifies');
});
