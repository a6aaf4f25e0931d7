// Sparse files on the replica (src/replica/runs.ts, docs/REPLICA.md "Sparse
// files"): a full image with holes goes up as its data runs only, and comes
// back byte for byte with its holes. On a directory replica, and on the S3
// gateway when there is one.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotStore } from '../../src/store/index.js';
import { capture } from '../../src/live/index.js';
import {
  FileReplicaClient, Replicator, S3ReplicaClient, describeStoreGeneration, listRemote, restoreFromReplica, verifyStoreGeneration,
  type ReplicaClient, type ReplicaEvent,
} from '../../src/replica/index.js';
import { parseRecord } from '../../src/replica/record.js';
import { runPlacer, validRuns } from '../../src/replica/runs.js';
import type { PutOptions, PutResult, PutSource } from '../../src/replica/client.js';
import { commitRecords, liveFile } from '../store/helpers.js';
import { freshBucket, s3Gateway, scratchDir } from './helpers.js';

const MiB = 1 << 20;

t.test('runs: validated as untrusted, and object bytes placed through them', async (t) => {
  t.ok(validRuns([[0, 4096], [8192, 12288]], 16384));
  t.notOk(validRuns([[4096, 8192], [0, 4096]], 16384), 'out of order');
  t.notOk(validRuns([[0, 4096], [4000, 8192]], 16384), 'overlapping');
  t.notOk(validRuns([[0, 0]], 16384), 'empty');
  t.notOk(validRuns([[0, 20000]], 16384), 'past the size');
  t.notOk(validRuns([[0, '4096']], 16384), 'not numbers');
  const place = runPlacer([[100, 110], [200, 205], [300, 320]]);
  t.same(place(0, 35), [[100, 0, 10], [200, 10, 5], [300, 15, 20]], 'a chunk across every run');
  t.same(place(8, 4), [[108, 8, 2], [200, 10, 2]], 'a chunk across a boundary');
  const file = { name: 'a.img', bytes: 15, digest: 'x'.repeat(0), partSize: 8 };
  const record = (format: string, f: object) => Buffer.from(JSON.stringify({ format, sequence: 1, parent: null, offset: null, created: new Date().toISOString(), host: 'h', files: [f], manifest: { name: 'a.json', bytes: 1, digest: 'ab'.repeat(0), partSize: 8 } }));
  const digest = (await import('../../src/replica/digest.js')).PartDigest;
  const d = new digest(8);
  d.update(new Uint8Array(1));
  d.end();
  const ok = { ...file, digest: d.value(), runs: [[0, 10], [20, 25]], size: 40 };
  const manifestOk = (b: Buffer) => Buffer.from(b.toString().replace('"digest":""', `"digest":"${d.value()}"`));
  t.notMatch(parseRecord(manifestOk(record('shm-host-replica-generation/2', ok)), 1), { reason: String }, 'a sparse file in a /2 record parses');
  t.match(parseRecord(manifestOk(record('shm-host-replica-generation/1', ok)), 1), { reason: /format does not match/ }, 'runs in a /1 record are refused: an older reader would write them dense');
  t.match(parseRecord(manifestOk(record('shm-host-replica-generation/2', { ...ok, bytes: 14 })), 1), { reason: /malformed file/ }, 'runs that do not add up to the object');
});

async function shipsSparse(t: Test, client: ReplicaClient): Promise<void> {
  const dirA = scratchDir(t, 'machine-a');
  // 1 GiB holding about 10 MiB: records, and 10 MiB written in the middle of the tail.
  const { fd, state } = liveFile(t, 1024 * MiB, 256, MiB);
  commitRecords(state, 300);
  state.tail.fill(0x5a, 500 * MiB, 510 * MiB);
  const store = await SnapshotStore.open(dirA, { chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  const { generation } = await capture(fd, store, 'request');
  const described = await describeStoreGeneration(dirA, generation.sequence);
  t.equal(described.files[0]!.bytes, 1024 * MiB, 'a full 1 GiB image');
  const events: ReplicaEvent[] = [];
  const r = new Replicator({ client, identity: { host: 'machine-a' }, onEvent: (e) => events.push(e) });
  t.teardown(() => r.close());
  await r.start();
  r.offer(described);
  await r.idle();
  const shipped = events.find((e) => e.kind === 'replicated');
  t.ok(shipped !== undefined && shipped.kind === 'replicated' && shipped.bytes < 12 * MiB, `uploaded ${shipped?.kind === 'replicated' ? (shipped.bytes / MiB).toFixed(2) : '?'} MiB for 1 GiB holding 10 MiB`);
  const listed = await listRemote(client);
  const object = listed.objects.get(generation.sequence)!.find((o) => o.key.endsWith('.img'))!;
  t.ok(object.bytes < 12 * MiB, `the object on the replica holds ${(object.bytes / MiB).toFixed(2)} MiB`);

  const dirB = join(scratchDir(t, 'machine-b'), 'state');
  const restored = await restoreFromReplica({ client, dir: dirB, verify: verifyStoreGeneration });
  t.equal(restored.generation.sequence, generation.sequence, 'restored, and the store verifies it');
  const image = join(dirB, described.files[0]!.name);
  t.equal(statSync(image).size, 1024 * MiB, 'its full length');
  execFileSync('cmp', [image, generation.imagePath]);
  t.pass('byte for byte (cmp)');
  t.ok(statSync(image).blocks * 512 < 16 * MiB, `holes stay holes: ${(statSync(image).blocks * 512 / MiB).toFixed(1)} MiB allocated`);
}

t.test('a 1 GiB image holding 10 MiB uploads about 10 MiB (directory replica)', async (t) => {
  await shipsSparse(t, new FileReplicaClient(join(scratchDir(t, 'remote'), 'rep')));
});

t.test('a 1 GiB image holding 10 MiB uploads about 10 MiB (S3 gateway)', async (t) => {
  const gw = await s3Gateway();
  if ('skip' in gw) return t.skip(gw.skip);
  const bucket = await freshBucket(t, gw.endpoint, 'sparse');
  const client = new S3ReplicaClient({ bucket, prefix: 'svc', url: `s3://${bucket}/svc`, endpoint: gw.endpoint, forcePathStyle: true });
  t.teardown(() => client.close());
  await shipsSparse(t, client);
});

t.test('status counts what a sparse image sends: its data runs, not its holes', async (t) => {
  const dir = scratchDir(t, 'machine-a');
  const { fd, state } = liveFile(t, 1024 * MiB, 256, MiB);
  commitRecords(state, 300);
  state.tail.fill(0x5a, 500 * MiB, 510 * MiB);
  const store = await SnapshotStore.open(dir, { chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  const { generation } = await capture(fd, store, 'request');
  // The status the host's `status` shows, as it stands while each object goes up.
  const seen: Array<ReturnType<Replicator['status']>> = [];
  let replicator: Replicator | null = null;
  class Watched extends FileReplicaClient {
    override async put(key: string, source: PutSource, options?: PutOptions): Promise<PutResult> {
      if (replicator !== null && key.includes('/gen-')) seen.push(replicator.status());
      return super.put(key, source, options);
    }
  }
  const events: ReplicaEvent[] = [];
  const r = new Replicator({ client: new Watched(join(scratchDir(t, 'remote'), 'rep')), identity: { host: 'machine-a' }, onEvent: (e) => events.push(e) });
  replicator = r;
  t.teardown(() => r.close());
  await r.start();
  r.offer(await describeStoreGeneration(dir, generation.sequence));
  await r.idle();
  const shipped = events.find((e) => e.kind === 'replicated');
  if (shipped?.kind !== 'replicated') return t.fail('not replicated');
  t.ok(seen.length >= 2, `status seen at ${seen.length} object writes`);
  for (const s of seen) {
    t.equal(s.uploading?.bytes, shipped.bytes, `uploading.bytes ${s.uploading?.bytes} is what went up (${shipped.bytes}), not the file's ${1024 * MiB}`);
    t.ok(s.lagBytes <= shipped.bytes, `lagBytes ${s.lagBytes} counts no hole`);
  }
});
