// Bytes damaged between our digest and the server are refused: every
// PutObject and UploadPart carries Content-MD5, computed before the
// request is built, and the real gateway checks it. A middleware placed
// after ours flips one byte of the body on the way out.
import t from 'tap';
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { addContentMd5 } from '../../src/replica/s3-client.js';
import { s3Failure } from '../../src/replica/s3-errors.js';
import { freshBucket, noise, s3Gateway } from './helpers.js';

/** An SDK client with our Content-MD5 and, after it, one that damages the `nth` request body of `command`. */
function damaging(endpoint: string, command: string, nth: number): S3Client {
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
  addContentMd5(s3);
  let seen = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { body?: unknown };
      if ((context as { commandName?: string }).commandName === command && request.body instanceof Uint8Array && ++seen === nth) {
        const copy = Buffer.from(request.body);
        copy[copy.length >> 1] ^= 0x01;
        request.body = copy;
      }
      return next(args);
    },
    { step: 'build', name: 'damageOneBody' },
  );
  return s3;
}

t.test('Content-MD5 on every body, checked by the gateway', async (t) => {
  const gw = await s3Gateway();
  if ('skip' in gw) return t.skip(gw.skip);
  const bucket = await freshBucket(t, gw.endpoint, 'md5');

  await t.test('a damaged PutObject body is refused (400 BadDigest), reported as INTEGRITY', async (t) => {
    const s3 = damaging(gw.endpoint, 'PutObjectCommand', 1);
    t.teardown(() => s3.destroy());
    const body = noise(100_000);
    const e = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'one', Body: body })).then(() => null, (e: unknown) => e);
    t.equal((e as { name?: string })?.name, 'BadDigest');
    t.match(s3Failure(e, `s3://${bucket}`, 'upload', 'one'), { code: 'INTEGRITY', retryable: true, message: /received other bytes than were sent \(upload: BadDigest\)/ });
    // Undamaged, the same body goes through: the digest itself is right.
    const ok = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'one', Body: body }));
    t.equal(ok.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
  });

  await t.test('a damaged part of a multipart upload is refused too', async (t) => {
    const s3 = damaging(gw.endpoint, 'UploadPartCommand', 2);
    t.teardown(() => s3.destroy());
    const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: 'many', Body: noise(11 << 20) }, partSize: 5 << 20, queueSize: 1 });
    await t.rejects(upload.done(), { name: 'BadDigest' });
  });
});
