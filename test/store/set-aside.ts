// store.setAside (src/store/set-aside.ts): what it fsyncs. Only what
// changed: damaged/ when files were linked into it, the snapshot directory
// when damaged/ was created or something was linked (after damaged/, so
// the links are durable before the name that reaches them); nothing when
// nothing was new.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { SnapshotStore, setAsideDirOf } from '../../src/store/index.js';
import { capture } from '../../src/live/index.js';
import { commitRecords, liveFile, recording, scratchDir } from './helpers.js';

t.test('setAside fsyncs what it changed, and nothing when nothing is new', async (t) => {
  const dir = scratchDir(t, 'set-aside');
  const { sfs, log } = recording();
  const store = await SnapshotStore.open(dir, { fs: sfs, keep: 5, chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  const { fd, state } = liveFile(t);
  for (let i = 0; i < 2; i++) {
    commitRecords(state, 3, `round ${i}`);
    await capture(fd, store, 'request');
  }
  const into = setAsideDirOf(dir);
  /** The fsyncs one call makes, and what it returns. */
  const fsyncsOf = async (sequences: number[]): Promise<{ linked: string[]; fsyncs: string[] }> => {
    const from = log.length;
    const linked = await store.setAside(sequences);
    return { linked, fsyncs: log.slice(from).filter((l) => l.startsWith('fsync ')) };
  };

  // A generation that is not there: damaged/ is created, linked into by nothing: only its name in the directory is new.
  t.same(await fsyncsOf([7]), { linked: [], fsyncs: [`fsync ${dir}`] }, 'created empty: the snapshot directory only');
  t.same(await fsyncsOf([2]), {
    linked: ['gen-0000000000000002.img', 'gen-0000000000000002.json'],
    fsyncs: [`fsync ${into}`, `fsync ${dir}`],
  }, 'links added: damaged/ first, then the snapshot directory that names it');
  t.same(await fsyncsOf([2]), { linked: [], fsyncs: [] }, 'all there already: no fsync');
  t.same(await fsyncsOf([7]), { linked: [], fsyncs: [] }, 'nothing to link, damaged/ there: no fsync');
  t.same((await fsyncsOf([1, 2])).fsyncs, [`fsync ${into}`, `fsync ${dir}`], 'one more generation linked: both again');
  t.same(readdirSync(into).sort(), ['gen-0000000000000001.img', 'gen-0000000000000001.json', 'gen-0000000000000002.img', 'gen-0000000000000002.json']);
});
