// xxh3: the xxHash C library's XXH3-64 reached through koffi computes what
// the addon's own call computes, for any bytes at any offset of a buffer;
// and on the platforms the addon ships binaries for, the fast path is the
// one taken (a silent fallback would only make captures slower).
import t from 'tap';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { XXH3_LONG_INPUT, xxh3, xxh3Blocks, xxh3Library, xxh3Wide } from '../../src/sys/index.js';

const { XXHash3 } = createRequire(import.meta.url)('xxhash-addon') as { XXHash3: { hash(data: Uint8Array): Buffer } };

t.test('the C function is bound where the addon ships a binary', async (t) => {
  const library = xxh3Library();
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    t.pass(`no expectation on ${process.platform}-${process.arch}`);
    return;
  }
  t.ok(library, 'bound');
  // x64: the runtime dispatch to the CPU's vector instructions, not the build-time baseline.
  t.equal(library?.symbol, process.arch === 'x64' ? 'XXH3_64bits_dispatch' : 'XXH3_64bits');
  t.equal(library?.symbol128, process.arch === 'x64' ? 'XXH3_128bits_dispatch' : 'XXH3_128bits', 'and XXH3-128 of the same build');
  t.match(library?.path ?? '', /xxhash-addon\/.*\.node$/, "the addon's own binary");
});

t.test('xxh3 equals the addon’s XXHash3.hash, at any offset and length', async (t) => {
  const buffer = new Uint8Array(300_000);
  for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 2654435761) >>> 23;
  fc.assert(
    fc.property(fc.nat(buffer.length), fc.nat(140_000), (offset, length) => {
      const bytes = buffer.subarray(offset, Math.min(buffer.length, offset + length));
      return xxh3(bytes) === XXHash3.hash(bytes).readBigUInt64BE(0);
    }),
    { numRuns: 500 },
  );
  t.pass('500 inputs agree');
  t.equal(xxh3(new Uint8Array(0)), 0x2d06800538d394c2n, 'empty: the published value');
  t.equal(typeof xxh3(new TextEncoder().encode('abc')), 'bigint', 'always a bigint (koffi gives small uint64 values as numbers)');
});

t.test('digests below 2^53 come back as bigints', async (t) => {
  // Search inputs until one hashes below 2^53 (about 1 in 2048): koffi returns those as numbers.
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  let found = -1;
  for (let i = 0; i < 200_000 && found < 0; i++) {
    view.setUint32(0, i, true);
    if (XXHash3.hash(bytes).readBigUInt64BE(0) < 2n ** 53n) found = i;
  }
  t.ok(found >= 0, 'an input with a small digest exists');
  view.setUint32(0, found, true);
  const d = xxh3(bytes);
  t.equal(typeof d, 'bigint');
  t.equal(d, XXHash3.hash(bytes).readBigUInt64BE(0));
});

t.test('xxh3Blocks: each block as xxh3 of its bytes, the last one short, at any offset', async (t) => {
  const buffer = new Uint8Array(200_000);
  for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 40503) >>> 7;
  fc.assert(
    fc.property(fc.nat(buffer.length), fc.nat(70_000), fc.constantFrom(1, 7, 4096), (offset, length, blockSize) => {
      const bytes = buffer.subarray(offset, Math.min(buffer.length, offset + length));
      const n = Math.ceil(bytes.length / blockSize);
      if (n > 20_000) return true;
      const out = new BigUint64Array(n + 1).fill(1n);
      xxh3Blocks(bytes, blockSize, out);
      for (let i = 0; i < n; i++) if (out[i] !== xxh3(bytes.subarray(i * blockSize, Math.min((i + 1) * blockSize, bytes.length)))) return false;
      return out[n] === 1n; // nothing written past the last block
    }),
    { numRuns: 300 },
  );
  t.pass('300 inputs agree');
  // A small array (its bytes on the V8 heap until their address is taken).
  const small = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const out = new BigUint64Array(3);
  xxh3Blocks(small, 4, out);
  t.same([...out], [xxh3(small.subarray(0, 4)), xxh3(small.subarray(4, 8)), xxh3(small.subarray(8))]);
});

t.test('xxh3Wide: XXH3-64 and the high half of XXH3-128, as another binding computes them, at any offset and length', async (t) => {
  // The reference is @node-rs/xxhash, not the library under test.
  const oracle = createRequire(import.meta.url)('@node-rs/xxhash').xxh3 as { xxh64(input: Uint8Array): bigint; xxh128(input: Uint8Array): bigint };
  const buffer = new Uint8Array(140_000);
  for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 2654435761) >>> 24;
  const lengths = [0, 1, 16, 17, 128, 129, XXH3_LONG_INPUT, XXH3_LONG_INPUT + 1, 4096, 65536, 65536 + 7];
  let wrong = 0;
  const check = (bytes: Uint8Array): void => {
    const [low, high] = xxh3Wide(bytes);
    if (low !== oracle.xxh64(bytes) || high !== oracle.xxh128(bytes) >> 64n) wrong++;
  };
  for (const n of lengths) check(buffer.subarray(3, 3 + n));
  fc.assert(fc.property(fc.nat({ max: 70_000 }), fc.nat({ max: 70_000 }), (at, n) => check(buffer.subarray(at, at + n))), { numRuns: 300 });
  t.equal(wrong, 0, 'every digest as the reference computes it');
});

t.test('over XXH3_LONG_INPUT bytes, XXH3-128\'s low half is XXH3-64 (the image checksum takes it from there)', async (t) => {
  const oracle = createRequire(import.meta.url)('@node-rs/xxhash').xxh3 as { xxh64(input: Uint8Array): bigint; xxh128(input: Uint8Array): bigint };
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) & 0xff);
  const mask = (1n << 64n) - 1n;
  let differ = 0;
  for (let n = XXH3_LONG_INPUT + 1; n < bytes.length; n += 997) if ((oracle.xxh128(bytes.subarray(0, n)) & mask) !== oracle.xxh64(bytes.subarray(0, n))) differ++;
  t.equal(differ, 0, 'equal for every length tried above it');
  t.not(oracle.xxh128(bytes.subarray(0, XXH3_LONG_INPUT)) & mask, oracle.xxh64(bytes.subarray(0, XXH3_LONG_INPUT)), 'and not at it: the constant is where the paths part');
});
