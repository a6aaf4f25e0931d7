// Both ReplicaClient backends, the same cases: the S3 one against the real
// Ceph gateway, the file one on a scratch directory.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileReplicaClient, ReplicaError, S3ReplicaClient, openReplicaClient, type ReplicaClient } from '../../src/replica/index.js';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { adminS3, freshBucket, noise, s3Gateway, scratchDir } from './helpers.js';

const md5 = (b: Uint8Array): Buffer => createHash('md5').update(b).digest();
/** The replica digest, from its definition: MD5 of the parts' MD5s, '-', the part count. */
function digest(b: Uint8Array, partSize: number): string {
  const parts: Buffer[] = [];
  for (let at = 0; at < b.length; at += partSize) parts.push(md5(b.subarray(at, at + partSize)));
  return `${md5(Buffer.concat(parts)).toString('hex')}-${parts.length}`;
}

async function readAll(client: ReplicaClient, key: string): Promise<Buffer> {
  const { body } = await client.read(key);
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

async function sameCases(t: Test, client: ReplicaClient, scratch: string): Promise<void> {
  await t.test('put from memory and from a file, get, read, list in key order', async (t) => {
    const small = noise(1000);
    const r1 = await client.put('g/0002/a.bin', { bytes: small });
    t.same(r1, { key: 'g/0002/a.bin', bytes: 1000, digest: digest(small, r1.partSize), partSize: r1.partSize });
    t.match(r1.digest, /-1$/);
    const file = join(scratch, 'src.bin');
    const big = noise(300_000);
    writeFileSync(file, big);
    const r2 = await client.put('g/0001/b.bin', { path: file });
    t.equal(r2.digest, digest(big, r2.partSize));
    t.ok(Buffer.from(await client.get('g/0002/a.bin')).equals(small));
    t.ok((await readAll(client, 'g/0001/b.bin')).equals(big));
    const listed = await client.list('g/');
    t.same(listed.map((o) => [o.key, o.bytes]), [['g/0001/b.bin', 300_000], ['g/0002/a.bin', 1000]]);
    t.same((await client.list('g/0002/')).map((o) => o.key), ['g/0002/a.bin']);
    t.same(await client.list('nothing/'), []);
  });

  await t.test('delete removes the keys; a missing key is no error', async (t) => {
    await client.delete(['g/0002/a.bin', 'g/never']);
    t.same((await client.list('g/')).map((o) => o.key), ['g/0001/b.bin']);
    await t.rejects(client.get('g/0002/a.bin'), { code: 'NOT_FOUND' });
  });

  await t.test('conditional create: the first wins, the second is refused with EXISTS', async (t) => {
    await client.createExclusive('lease.json', Buffer.from('one'));
    const e = await client.createExclusive('lease.json', Buffer.from('two')).then(() => null, (e: unknown) => e);
    t.ok(e instanceof ReplicaError, 'a ReplicaError');
    t.equal((e as ReplicaError).code, 'EXISTS');
    t.notMatch((e as ReplicaError).message, /\n/, 'one line');
    t.equal(Buffer.from(await client.get('lease.json')).toString(), 'one', 'the first write stays');
  });

  await t.test('a multipart-sized object (3 parts of 5 MiB) round-trips byte for byte', async (t) => {
    const file = join(scratch, 'big.bin');
    const big = noise(12 * 1024 * 1024 + 12345);
    writeFileSync(file, big);
    const r = await client.put('big/object', { path: file });
    t.equal(r.bytes, big.length);
    t.equal(r.digest, digest(big, r.partSize));
    const { bytes } = await client.read('big/object');
    t.equal(bytes, big.length);
    t.ok((await readAll(client, 'big/object')).equals(big));
  });
}

t.test('file backend', async (t) => {
  const root = join(scratchDir(t, 'file-replica'), 'deep', 'replica');
  const client = new FileReplicaClient(root);
  await sameCases(t, client, scratchDir(t));
  t.test('no temporary files are left behind, emptied folders go', async (t) => {
    await client.delete(['big/object']);
    t.same(readdirSync(root).sort(), ['g', 'lease.json']);
  });
});

t.test('S3 backend on the Ceph gateway', async (t) => {
  const gw = await s3Gateway();
  if ('skip' in gw) return t.skip(gw.skip);
  const bucket = await freshBucket(t, gw.endpoint, 'clients');
  const client = new S3ReplicaClient({ bucket, prefix: 'p/q', url: `s3://${bucket}/p/q`, endpoint: gw.endpoint, forcePathStyle: true, partSize: 5 << 20 });
  t.teardown(() => client.close());
  await sameCases(t, client, scratchDir(t));

  await t.test('the large object went up as a multipart upload of 3 parts', async (t) => {
    const admin = adminS3(gw.endpoint);
    t.teardown(() => admin.destroy());
    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: 'p/q/big/object' }));
    t.match(head.ETag, /^"[0-9a-f]{32}-3"$/, 'a multipart ETag names its part count');
    const put = await client.put('again', { bytes: noise(11 << 20) });
    const again = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: 'p/q/again' }));
    t.equal(again.ETag, `"${put.digest}"`, 'with parts of the same size, our digest is the server\'s ETag');
  });

  await t.test('objects live under the prefix; another prefix sees none of them', async (t) => {
    const other = openReplicaClient(`s3://${bucket}/p`, { endpoint: gw.endpoint, forcePathStyle: true });
    t.teardown(() => other.close());
    t.ok((await other.list('')).every((o) => o.key.startsWith('q/')));
    t.same(await openReplicaClient(`s3://${bucket}/elsewhere`, { endpoint: gw.endpoint, forcePathStyle: true }).list(''), []);
  });

  await t.test('wrong credentials: one clear line, code ACCESS', async (t) => {
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    const wrong = new S3ReplicaClient({ bucket, prefix: 'p', url: `s3://${bucket}/p`, endpoint: gw.endpoint, forcePathStyle: true });
    try {
      const e = await wrong.put('x', { bytes: Buffer.from('x') }).then(() => null, (e: unknown) => e);
      t.equal((e as ReplicaError).code, 'ACCESS');
      t.match((e as ReplicaError).message, /refused the credentials .*SignatureDoesNotMatch.*: check AWS_ACCESS_KEY_ID/);
      t.notMatch((e as ReplicaError).message, /not-the-secret|\n/, 'one line, no secret');
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
      wrong.close();
    }
  });

  await t.test('a bucket that does not exist: NOT_FOUND naming the bucket', async (t) => {
    const c = openReplicaClient('s3://shm-no-such-bucket-here/x', { endpoint: gw.endpoint, forcePathStyle: true });
    t.teardown(() => c.close());
    await t.rejects(c.list(''), { code: 'NOT_FOUND', message: /the bucket does not exist/ });
  });

  await t.test('an endpoint nobody listens on: UNREACHABLE', async (t) => {
    const c = openReplicaClient(`s3://${bucket}/x`, { endpoint: 'http://127.0.0.1:9', forcePathStyle: true, maxAttempts: 1 });
    t.teardown(() => c.close());
    await t.rejects(c.list(''), { code: 'UNREACHABLE', message: /does not answer \(ListObjectsV2: ECONNREFUSED\)/ });
  });
});

t.test('replica URLs', async (t) => {
  const { parseReplicaUrl } = await import('../../src/replica/index.js');
  t.same(parseReplicaUrl('s3://my-bucket/a/b/'), { kind: 's3', bucket: 'my-bucket', prefix: 'a/b', url: 's3://my-bucket/a/b/' });
  t.same(parseReplicaUrl('s3://my-bucket'), { kind: 's3', bucket: 'my-bucket', prefix: '', url: 's3://my-bucket' });
  t.same(parseReplicaUrl('file:///srv/rep/'), { kind: 'file', path: '/srv/rep', url: 'file:///srv/rep/' });
  for (const bad of ['s3://', 's3://B/x', 's3://b', 's3://bucket/a//b', 's3://bucket/../x', 'file://host/x', 'http://x/y', '/plain/path']) {
    t.throws(() => parseReplicaUrl(bad), { code: 'BAD_URL', message: /^replica URL .*: use s3:\/\/BUCKET\/PREFIX or file:\/\/\/absolute\/path$/ }, bad);
  }
});
