// The digests and image checksums pinned to literal values: every stored
// generation's checksum was computed by these functions, so a change of
// hashing library (or of its use) that alters a single bit of them would
// make every existing directory fail verification. XXH3-64 of "" and of
// "abc" are the xxHash project's published test values.
import t from 'tap';
import { createRequire } from 'node:module';
import { BLOCK_SIZE, CHUNK_SIZE, ChunkDigests, IMAGE_CHUNK_SIZE, digestOf, zeroDigest } from '../../src/format/index.js';

/** A fixed, non-repeating byte pattern. */
function pattern(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 131 + (i >> 8)) & 255;
  return bytes;
}

t.test('digestOf: XXH3-64, seed 0, of known inputs', async (t) => {
  t.equal(digestOf(new Uint8Array(0)), 0x2d06800538d394c2n, 'empty');
  t.equal(digestOf(new TextEncoder().encode('abc')), 0x78af5f94892f3950n, '"abc"');
  t.equal(digestOf(pattern(65536)), 0x513812aaf46c6769n, '64 KiB of the pattern');
  t.equal(zeroDigest(65536), 0x33b202d302b65caan, '64 KiB of zeros');
  // A view into a larger buffer, not at its start: the bytes viewed, no others.
  const inside = new Uint8Array(70000);
  inside.set(pattern(65536), 1234);
  t.equal(digestOf(inside.subarray(1234, 1234 + 65536)), 0x513812aaf46c6769n, 'the same bytes at an offset');
});

t.test('image checksums of every chunk size, from data runs (holes) and from whole chunks', async (t) => {
  const size = 3 * 1024 * 1024 + 1000;
  const image = new Uint8Array(size);
  image.set(pattern(200000), 70000);
  image.set(pattern(5000), size - 5000);
  const runs: Array<[number, number]> = [[70000, 270000], [size - 5000, size]];
  for (const [chunkSize, value] of [[BLOCK_SIZE, '27a787aba44b0d18'], [IMAGE_CHUNK_SIZE, 'fabde2512d86e930'], [CHUNK_SIZE, '909156a0b50d015b']] as const) {
    const sparse = new ChunkDigests(size, chunkSize);
    sparse.setRange(0, size, image, runs);
    t.equal(sparse.value(), value, `${chunkSize}-byte chunks, hashed from the data runs`);
    const dense = new ChunkDigests(size, chunkSize);
    for (let i = 0; i < dense.count; i++) dense.set(i, image.subarray(i * chunkSize, Math.min((i + 1) * chunkSize, size)));
    t.equal(dense.value(), value, `${chunkSize}-byte chunks, hashed whole`);
    // Wide (128-bit halves kept too): the same checksum.
    const wide = new ChunkDigests(size, chunkSize, true);
    wide.setRange(0, size, image, runs);
    t.equal(wide.value(), value, `${chunkSize}-byte chunks, wide`);
  }
});

t.test('a wide ChunkDigests keeps each chunk\'s XXH3-128 high half beside its digest, however it was hashed', async (t) => {
  // The reference is another binding of XXH3 (seed 0), not the code under test.
  const oracle = createRequire(import.meta.url)('@node-rs/xxhash').xxh3 as { xxh64(input: Uint8Array): bigint; xxh128(input: Uint8Array): bigint };
  const size = 5 * IMAGE_CHUNK_SIZE + 200; // a last chunk short of the 240 bytes where XXH3-128's low half is XXH3-64
  const image = new Uint8Array(size);
  image.set(pattern(IMAGE_CHUNK_SIZE), IMAGE_CHUNK_SIZE); // chunk 1: all data
  image.set(pattern(1000), 3 * IMAGE_CHUNK_SIZE + 5000); // chunk 3: partly data
  image.set(pattern(150), 5 * IMAGE_CHUNK_SIZE + 20); // chunk 5 (200 bytes): partly data
  const runs: Array<[number, number]> = [[IMAGE_CHUNK_SIZE, 2 * IMAGE_CHUNK_SIZE], [3 * IMAGE_CHUNK_SIZE + 5000, 3 * IMAGE_CHUNK_SIZE + 6000], [5 * IMAGE_CHUNK_SIZE + 20, 5 * IMAGE_CHUNK_SIZE + 170]];
  const chunk = (k: number): Uint8Array => image.subarray(k * IMAGE_CHUNK_SIZE, Math.min((k + 1) * IMAGE_CHUNK_SIZE, size));
  const viaRange = new ChunkDigests(size, IMAGE_CHUNK_SIZE, true);
  viaRange.setRange(0, size, image, runs);
  const viaSet = new ChunkDigests(size, IMAGE_CHUNK_SIZE, true);
  for (let k = 0; k < viaSet.count; k++) viaSet.set(k, chunk(k));
  for (const [how, d] of [['setRange (holes, whole and partly-data chunks)', viaRange], ['set', viaSet]] as const) {
    const wrong = [...Array(d.count).keys()].filter((k) => d.get(k) !== oracle.xxh64(chunk(k)) || d.high(k) !== oracle.xxh128(chunk(k)) >> 64n);
    t.same(wrong, [], `${how}: every chunk's digest and high half`);
  }
  viaSet.setDigest(2, 7n);
  t.equal(viaSet.get(2), 7n);
  t.equal(viaSet.high(2), undefined, 'a digest set without its high half has none (not the old one)');
  viaSet.setDigest(2, 7n, 9n);
  t.equal(viaSet.high(2), 9n, 'and with one, that one');
  const narrow = new ChunkDigests(size, IMAGE_CHUNK_SIZE);
  narrow.set(1, chunk(1));
  narrow.setDigest(2, 7n, 9n);
  t.equal(narrow.wide, false);
  t.same([narrow.high(1), narrow.high(2)], [undefined, undefined], 'a narrow one keeps no high halves');
});
