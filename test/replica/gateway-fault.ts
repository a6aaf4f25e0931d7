// The gateway taken away: this file runs its own Ceph cluster (other
// directory and ports) so that stopping its gateway disturbs no other test.
// The monitor and OSD stay up, so the objects survive a gateway restart.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import {
  Replicator, S3ReplicaClient, listRemote, restoreFromReplica, type PutOptions, type PutResult, type PutSource, type ReplicaEvent,
} from '../../src/replica/index.js';
import { adminS3, hasCeph, localGeneration, privateCluster, scratchDir, waitFor } from './helpers.js';


/** The S3 backend, whose uploads wait while `hold` is set: the test looks at the replica before the retry. */
class Held extends S3ReplicaClient {
  hold: Promise<void> | null = null;
  override async put(key: string, source: PutSource, options?: PutOptions): Promise<PutResult> {
    if (this.hold !== null) await this.hold;
    return super.put(key, source, options);
  }
}


t.test('the gateway goes away and comes back', { skip: hasCeph() ? false : 'Ceph is not installed: run scripts/s3/install.sh as root' }, async (t) => {
  const { endpoint, script } = await privateCluster(t);
  const admin = adminS3(endpoint);
  t.teardown(() => admin.destroy());
  await admin.send(new CreateBucketCommand({ Bucket: 'fault' }));
  const client = new Held({ bucket: 'fault', prefix: 'svc', url: 's3://fault/svc', endpoint, forcePathStyle: true, partSize: 5 << 20, queueSize: 1, maxAttempts: 1 });
  t.teardown(() => client.close());
  const local = scratchDir(t, 'local');
  const events: ReplicaEvent[] = [];
  const r = new Replicator({ client, identity: { host: 'fault-host' }, backoff: { firstMs: 300, maxMs: 300 }, onEvent: (e) => events.push(e) });
  t.teardown(() => r.close());

  await t.test('down when the replicator starts: it runs, and catches up when the gateway returns', async (t) => {
    script('gateway.sh', 'stop');
    await r.start();
    t.match(r.status(), { state: 'retrying', lastError: { message: /does not answer .*ECONNREFUSED/ } });
    r.offer(localGeneration(local, 1, 100_000));
    script('gateway.sh', 'start');
    await waitFor(() => r.status().lastReplicated?.sequence === 1, 30_000, 'generation 1 on the replica');
    t.equal(r.status().lastError, null);
  });

  await t.test('killed in the middle of an upload: nothing partial is visible, the upload resumes', async (t) => {
    const g = localGeneration(local, 2, 40 << 20);
    r.offer(g);
    await waitFor(() => (r.status().uploading?.bytesSent ?? 0) >= 10 << 20, 30_000, '10 MiB of generation 2 sent');
    t.ok((r.status().uploading?.bytesSent ?? 0) < g.files[0]!.bytes, 'in the middle');
    script('gateway.sh', 'stop');
    await waitFor(() => r.status().state === 'retrying', 30_000, 'the failure');
    // The retry waits until the replica has been looked at.
    let release!: () => void;
    client.hold = new Promise((resolve) => { release = resolve; });
    t.match(r.status().lastError?.message, /generations\/0000000000000002\/gen-0000000000000002.img/);
    script('gateway.sh', 'start');
    const seen = await listRemote(client);
    t.same([...seen.generations.keys()], [1], 'generation 2 is not visible');
    t.notOk((seen.objects.get(2) ?? []).some((o) => o.key.endsWith('.json')), 'neither its manifest nor its record');
    const incomplete = async () => (await admin.send(new ListMultipartUploadsCommand({ Bucket: 'fault' }))).Uploads?.length ?? 0;
    t.ok((await incomplete()) >= 1, 'the interrupted multipart upload is still on the server');
    client.hold = null;
    release();
    await waitFor(() => r.status().lastReplicated?.sequence === 2, 60_000, 'generation 2 on the replica');
    await waitFor(() => r.status().state === 'idle', 10_000, 'retention after the upload');
    t.equal(await incomplete(), 0, 'and abandoned once the generation is complete');
    const dir = scratchDir(t, 'restore');
    const restored = await restoreFromReplica({ client, dir });
    t.equal(restored.generation.sequence, 2);
    t.ok(readFileSync(join(dir, g.files[0]!.name)).equals(readFileSync(g.files[0]!.path)), 'byte for byte');
    t.ok(events.some((e) => e.kind === 'retry'), 'the failure was reported');
  });
});
