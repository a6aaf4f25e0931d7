// A restore from a replica is all or nothing (src/replica/restore-dir.ts):
// what an interrupted one leaves is cleared and restored again, by the next
// restore and by a host started with --replica, never taken for a directory
// in use. (test/crash/ crashes it at every operation; these are the cases by name.)
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from '../../src/live/index.js';
import { CLEAN_END_MARKER, RESTORE_MARKER, SnapshotStore } from '../../src/store/index.js';
import {
  FileReplicaClient, Replicator, describeStoreGeneration, isReplicaError, localRestoreState, restoreFromReplica, verifyStoreGeneration,
} from '../../src/replica/index.js';
import { commitRecords, liveFile } from '../store/helpers.js';
import { scratchDir } from './helpers.js';

/** A directory replica holding a full generation and a delta of it. */
async function replicaOfTwo(t: Parameters<typeof scratchDir>[0]): Promise<FileReplicaClient> {
  const source = scratchDir(t, 'source');
  const { fd, state } = liveFile(t);
  const store = await SnapshotStore.open(source, { chain: { maxChain: 10, maxChainRatio: 10 } });
  t.teardown(() => store.close());
  const client = new FileReplicaClient(join(scratchDir(t, 'remote'), 'rep'));
  const r = new Replicator({ client, identity: { host: 'source' } });
  t.teardown(() => r.close());
  await r.start();
  for (let i = 0; i < 2; i++) {
    commitRecords(state, 20, `round ${i}`);
    const { generation } = await capture(fd, store, 'request');
    r.offer(await describeStoreGeneration(source, generation.sequence));
  }
  await r.idle();
  return client;
}

t.test('what an interrupted restore left is cleared, and the restore done again', async (t) => {
  const client = await replicaOfTwo(t);
  const dir = join(scratchDir(t, 'local'), 'state');
  mkdirSync(dir, { mode: 0o700 });
  // A power loss after the delta's files and a temporary download, before its parent's files.
  writeFileSync(join(dir, RESTORE_MARKER), 'restoring\n');
  writeFileSync(join(dir, 'gen-0000000000000002.delta'), 'partial');
  writeFileSync(join(dir, 'gen-0000000000000002.json'), '{}');
  writeFileSync(join(dir, '.tmp-0123456789ab-gen-0000000000000001.img'), 'torn');
  t.equal(await localRestoreState(dir), 'interrupted', 'a host with --replica restores it rather than starting on it');
  const result = await restoreFromReplica({ client, dir, verify: verifyStoreGeneration });
  t.equal(result.generation.sequence, 2);
  t.same(readdirSync(dir).sort(), ['gen-0000000000000001.img', 'gen-0000000000000001.json', 'gen-0000000000000002.delta', 'gen-0000000000000002.json', 'lock'], 'the marker went last, with the debris');
  t.equal(await localRestoreState(dir), 'in use');
  const store = await SnapshotStore.open(dir);
  t.teardown(() => store.close());
  t.equal((await store.newestVerified()).generation?.sequence, 2, 'the store opens the restored delta, verified');
});

t.test('a directory with a file no restore writes is not cleared; its lock file alone does not make it used', async (t) => {
  const client = await replicaOfTwo(t);
  const dir = scratchDir(t, 'used');
  writeFileSync(join(dir, 'lock'), '1234 restore\n');
  t.equal(await localRestoreState(dir), 'empty', 'only a lock file: a writer that wrote no generation');
  writeFileSync(join(dir, RESTORE_MARKER), 'restoring\n');
  t.equal(await localRestoreState(dir), 'interrupted', 'the marker and the lock the restore held');
  writeFileSync(join(dir, 'notes.txt'), 'mine\n');
  t.equal(await localRestoreState(dir), 'in use');
  await t.rejects(restoreFromReplica({ client, dir }), /is not empty \(3 entries\): restore into an empty or new directory/);
  t.ok(existsSync(join(dir, 'notes.txt')) && existsSync(join(dir, RESTORE_MARKER)), 'nothing removed');
});

t.test('a host that ended cleanly without a generation leaves its lock and its mark of a clean end: empty to a restore, which keeps the mark', async (t) => {
  const client = await replicaOfTwo(t);
  const dir = scratchDir(t, 'died');
  writeFileSync(join(dir, 'lock'), '1234 host\n');
  writeFileSync(join(dir, CLEAN_END_MARKER), '');
  t.equal(await localRestoreState(dir), 'empty', 'a lock file and a clean-end mark');
  writeFileSync(join(dir, RESTORE_MARKER), 'restoring\n');
  writeFileSync(join(dir, '.tmp-0123456789ab-gen-0000000000000001.img'), 'torn');
  t.equal(await localRestoreState(dir), 'interrupted', 'and so is an interrupted restore into it');
  await restoreFromReplica({ client, dir, verify: verifyStoreGeneration });
  t.ok(existsSync(join(dir, CLEAN_END_MARKER)), 'the restore left the mark: the next host need not look for writers');
  t.notOk(existsSync(join(dir, '.tmp-0123456789ab-gen-0000000000000001.img')), 'the debris went');
});

t.test('a restore that finds nothing to restore leaves the directory empty, as it found it', async (t) => {
  const client = await replicaOfTwo(t);
  const dir = scratchDir(t, 'empty');
  const err = await restoreFromReplica({ client, dir, sequence: 7 }).catch((e: unknown) => e);
  t.ok(isReplicaError(err, 'NOT_FOUND'), String(err));
  t.same(readdirSync(dir), ['lock'], 'no marker left behind: only the lock file the restore held');
  t.equal(await localRestoreState(dir), 'empty');
});

t.test('a store will not open a directory an unfinished restore marked: it may hold a partial chain', async (t) => {
  const client = await replicaOfTwo(t);
  const dir = join(scratchDir(t, 'marked'), 'state');
  mkdirSync(dir, { mode: 0o700 });
  // Generation 1 complete, 2 not yet: a host starting here would run on 1 while the replica has 2.
  writeFileSync(join(dir, RESTORE_MARKER), 'restoring\n');
  writeFileSync(join(dir, '.tmp-0123456789ab-gen-0000000000000002.delta'), 'torn');
  const err = await SnapshotStore.open(dir).catch((e: unknown) => e);
  t.match(err, { code: 'INTERRUPTED_RESTORE', message: /holds a restore from a replica that did not finish \(restore-in-progress\)/ });
  t.match((err as Error & { hint: string }).hint, /restore it from the replica again, or remove .*restore-in-progress to use what it holds/);
  t.ok(existsSync(join(dir, '.tmp-0123456789ab-gen-0000000000000002.delta')), 'nothing swept: the next restore decides');
  t.equal(await localRestoreState(dir), 'interrupted', 'the lock file the store left does not make the directory look in use');
  await restoreFromReplica({ client, dir, verify: verifyStoreGeneration });
  const store = await SnapshotStore.open(dir);
  t.teardown(() => store.close());
  t.equal((await store.newestVerified()).generation?.sequence, 2, 'once restored, it opens on the newest');
});
