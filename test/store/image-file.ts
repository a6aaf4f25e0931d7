// The image reader's bounds: it never reads outside the image (a slice of
// an export included), and a file that shrinks under it is an error, not
// stale bytes.
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ImageFile, StoreError } from '../../src/store/index.js';
import { writeGenerations } from '../../fixtures/cli-store.js';

const base = t.testdir();
const [written] = await writeGenerations(join(base, 's'), { generations: 1, size: 32 * 1024 });
const imagePath = written!.imagePath;

t.test('a read outside the image is refused before it reaches the file', async (t) => {
  const image = await ImageFile.open(imagePath);
  t.teardown(() => image.close());
  t.equal(image.size, 32 * 1024);
  t.equal((await image.read(image.size - 4, 4)).length, 4);
  for (const [at, n] of [[image.size - 3, 4], [image.size, 1], [-1, 2], [0, Number.MAX_SAFE_INTEGER], [1.5, 1]] as const) {
    await t.rejects(image.read(at, n), { message: /^refusing to read bytes/ }, `[${at}, +${n})`);
  }
});

t.test('a slice sees only its own bytes', async (t) => {
  const path = join(base, 'wrapped.bin');
  const image = fs.readFileSync(imagePath);
  fs.writeFileSync(path, Buffer.concat([Buffer.alloc(100, 0xee), image, Buffer.alloc(50, 0xdd)]));
  const slice = await ImageFile.open(path, { offset: 100, length: image.length });
  t.teardown(() => slice.close());
  t.same(await slice.read(0, 16), image.subarray(0, 16));
  await t.rejects(slice.read(image.length - 1, 2), { message: /^refusing to read/ }, 'the bytes after the slice are out of reach');
  const info = await slice.inspect();
  t.equal(info.configured && info.records.length, written!.records.length);
  await t.rejects(ImageFile.open(path, { offset: 100, length: image.length + 51 }), { code: 'TRUNCATED' });
});

t.test('rings that do not fit are a format error; the reader stays within the file', async (t) => {
  const path = join(base, 'huge-ring.img');
  const bytes = fs.readFileSync(imagePath);
  bytes.writeBigUInt64LE(2n ** 40n - 1n, 16); // a 1 TiB data ring in a 32 KiB file
  fs.writeFileSync(path, bytes);
  const image = await ImageFile.open(path);
  t.teardown(() => image.close());
  await t.rejects(image.inspect(), { name: 'FormatError', code: 'RINGS_DO_NOT_FIT', message: /a 1099511627776-byte data ring need .* but the file has 32768/ });
});

t.test('an image that shrinks while it is read is an error, not stale bytes', async (t) => {
  const path = join(base, 'shrinking.img');
  fs.copyFileSync(imagePath, path);
  const image = await ImageFile.open(path);
  t.teardown(() => image.close());
  fs.truncateSync(path, 1000);
  const err = await image.read(0, 4096).catch((e: unknown) => e);
  t.ok(err instanceof StoreError && err.code === 'TRUNCATED', String(err));
  t.match((err as Error).message, /ended after 1000 bytes while it was read/);
});
