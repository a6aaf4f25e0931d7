// Today's store through the replica and back: a real capture of a live
// memory file, described for the replicator, shipped, restored into a new
// directory on another "machine", where the store opens and verifies it.
// The image keeps its holes.
import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotStore } from '../../src/store/index.js';
import { capture } from '../../src/live/index.js';
import {
  FileReplicaClient, Replicator, describeStoreGeneration, restoreFromReplica, storeGenerationSource, verifyStoreGeneration,
} from '../../src/replica/index.js';
import { commitRecords, liveFile } from '../store/helpers.js';
import { scratchDir } from './helpers.js';

t.test('a captured generation restores on another machine, verified by the store, sparse', async (t) => {
  const dirA = scratchDir(t, 'machine-a');
  const { fd, state } = liveFile(t, 16 << 20, 256, 1 << 20);
  commitRecords(state, 300);
  state.tail.fill(0x5a, 6 << 20, (6 << 20) + 50_000);
  // Full generations (maxChain 0): this test weighs one image's bytes; deltas ship in test/replica/host-file.ts.
  const store = await SnapshotStore.open(dirA, { chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  await capture(fd, store, 'request');
  commitRecords(state, 50, 'more');
  const { generation } = await capture(fd, store, 'request');

  const listed = await storeGenerationSource(dirA).generations();
  t.same(listed.map((g) => g.sequence), [1, 2], 'the source lists both generations');
  const latest = generation.manifest.latest!;
  const described = await describeStoreGeneration(dirA, generation.sequence, String(BigInt(latest.offset) + BigInt(latest.length)));
  t.equal(described.files[0]!.bytes, 16 << 20);

  const client = new FileReplicaClient(join(scratchDir(t, 'remote'), 'rep'));
  const r = new Replicator({ client, identity: { host: 'machine-a' } });
  t.teardown(() => r.close());
  await r.start();
  r.offer(described);
  await r.idle();
  t.equal(r.status().lastReplicated?.offset, described.offset);

  const dirB = join(scratchDir(t, 'machine-b'), 'state');
  const restored = await restoreFromReplica({ client, dir: dirB, verify: verifyStoreGeneration });
  t.equal(restored.generation.sequence, 2);
  const image = join(dirB, described.files[0]!.name);
  t.ok(readFileSync(image).equals(readFileSync(generation.imagePath)), 'the image byte for byte');
  t.ok(statSync(image).blocks * 512 < 4 << 20, `holes stay holes (${statSync(image).blocks * 512} bytes allocated of 16 MiB)`);
  const storeB = await SnapshotStore.open(dirB);
  t.teardown(() => storeB.close());
  const newest = await storeB.newestVerified();
  t.equal(newest.generation?.sequence, 2, 'the store on machine B opens it as its newest verified generation');

  // The store's own check catches what the digests cannot: a manifest that
  // disagrees with its image (here: the replica holds the wrong image).
  const other = join(scratchDir(t, 'remote2'), 'rep');
  const lying = new FileReplicaClient(other);
  const r2 = new Replicator({ client: lying, identity: { host: 'machine-a' } });
  t.teardown(() => r2.close());
  await r2.start();
  const first = await describeStoreGeneration(dirA, 1);
  r2.offer(first);
  await r2.idle();
  r2.offer({ ...described, files: [{ ...described.files[0]!, path: first.files[0]!.path, bytes: first.files[0]!.bytes }] });
  await r2.idle();
  const told: string[] = [];
  const fallback = await restoreFromReplica({ client: lying, dir: scratchDir(t, 'machine-c'), verify: verifyStoreGeneration, onFallback: (s, why) => told.push(`${s}: ${why}`) });
  t.equal(fallback.generation.sequence, 1);
  t.match(told, [/^2: generation 2 does not verify: /]);
});
