// The replicator on the real Ceph gateway: a multipart-sized generation
// shipped and restored, a second writer refused (the lease's conditional
// create answered 412), a corrupted object passed over on restore, wrong
// credentials reported in one line while offers keep being accepted.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Replicator, S3ReplicaClient, restoreFromReplica, type ReplicaEvent } from '../../src/replica/index.js';
import { adminS3, freshBucket, localGeneration, s3Gateway, scratchDir, waitFor } from './helpers.js';

t.test('replicator on the Ceph gateway', async (t) => {
  const gw = await s3Gateway();
  if ('skip' in gw) return t.skip(gw.skip);
  const bucket = await freshBucket(t, gw.endpoint, 'replicator');
  const client = (prefix = 'svc') => {
    const c = new S3ReplicaClient({ bucket, prefix, url: `s3://${bucket}/${prefix}`, endpoint: gw.endpoint, forcePathStyle: true, partSize: 5 << 20 });
    t.teardown(() => c.close());
    return c;
  };
  const local = scratchDir(t, 'local');

  await t.test('a multipart-sized generation ships and restores byte for byte', async (t) => {
    const r = new Replicator({ client: client(), identity: { host: 'host-a' }, backoff: { firstMs: 50, maxMs: 500 } });
    t.teardown(() => r.close());
    await r.start();
    const g1 = localGeneration(local, 1, 12 << 20);
    r.offer(g1);
    await r.idle();
    r.offer(localGeneration(local, 2, 100_000));
    await r.idle();
    t.match(r.status(), { lastReplicated: { sequence: 2, offset: '200' }, lastError: null, remoteGenerations: 2 });
    const dir = scratchDir(t, 'restore');
    const restored = await restoreFromReplica({ client: client(), dir, sequence: 1 });
    t.same(restored.chain, [1]);
    t.ok(readFileSync(join(dir, g1.files[0]!.name)).equals(readFileSync(g1.files[0]!.path)));
  });

  await t.test('a second writer on the prefix is refused while the first lives', async (t) => {
    const a = new Replicator({ client: client('shared'), identity: { host: 'host-a' } });
    t.teardown(() => a.close());
    await a.start();
    const b = new Replicator({ client: client('shared'), identity: { host: 'host-b' } });
    await t.rejects(b.start(), { code: 'LEASE', option: 'replica.takeover', message: /^replica s3:\/\/.*\/shared is written by host host-a .*: stop that host, use another replica prefix, or take its lease over$/ });
  });

  await t.test('restore passes over a generation whose object was corrupted on the server', async (t) => {
    const admin = adminS3(gw.endpoint);
    t.teardown(() => admin.destroy());
    const key = `svc/generations/0000000000000002/${localGeneration(scratchDir(t), 2, 1).files[0]!.name}`;
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(100_000, 7) }));
    const told: string[] = [];
    const restored = await restoreFromReplica({ client: client(), dir: scratchDir(t, 'restore'), onFallback: (s, why) => told.push(`${s}: ${why}`) });
    t.equal(restored.generation.sequence, 1, 'the older generation');
    t.match(told, [/^2: replica s3:\/\/.*object generations\/0000000000000002\/gen-0000000000000002.img is corrupt/]);
  });

  await t.test('wrong credentials: one line in status and events; offers still return at once', async (t) => {
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret';
    t.teardown(() => { process.env.AWS_SECRET_ACCESS_KEY = saved; });
    const events: ReplicaEvent[] = [];
    const r = new Replicator({ client: client('creds'), identity: { host: 'host-c' }, backoff: { firstMs: 50, maxMs: 100 }, onEvent: (e) => events.push(e) });
    t.teardown(() => r.close());
    await r.start();
    r.offer(localGeneration(local, 3, 1000));
    await waitFor(() => events.filter((e) => e.kind === 'retry').length >= 2, 10_000, 'two retries');
    const s = r.status();
    t.match(s, { state: 'retrying', lastReplicated: null, lagGenerations: 1 });
    t.match(s.lastError?.message, /^replica s3:\/\/.*\/creds, object lease.json: the server refused the credentials \(PutObject If-None-Match: SignatureDoesNotMatch\): check AWS_ACCESS_KEY_ID/);
    t.notMatch(s.lastError?.message, /wrong-secret|\n/);
  });
});
