// The image checksum: recomputable from the image's bytes alone (holes or
// no holes), following its documented definition, and sensitive to any bit.
import t from 'tap';
import { xxh3 } from '@node-rs/xxhash';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CHUNK_SIZE, ChunkDigests, checksumOfFile } from '../../src/store/index.js';
import { scratchDir } from './helpers.js';

/** The definition, written out independently with the one-shot hash: XXH3-64 of the chunk digests and the size. */
function reference(bytes: Uint8Array): string {
  const n = Math.ceil(bytes.length / CHUNK_SIZE);
  const folded = Buffer.alloc(n * 8 + 8);
  for (let i = 0; i < n; i++) folded.writeBigUInt64LE(xxh3.xxh64(bytes.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)), i * 8);
  folded.writeBigUInt64LE(BigInt(bytes.length), n * 8);
  return xxh3.xxh64(folded).toString(16).padStart(16, '0');
}

/** Writes `bytes` to a new file: sparse (only non-zero pages written) or dense. */
function fileOf(dir: string, name: string, bytes: Uint8Array, sparse: boolean): number {
  const path = join(dir, name);
  const fd = openSync(path, 'w+');
  if (bytes.length > 0) writeSync(fd, new Uint8Array(1), 0, 1, bytes.length - 1);
  for (let p = 0; p < bytes.length; p += 4096) {
    const page = bytes.subarray(p, p + 4096);
    if (!sparse || page.some((b) => b !== 0)) writeSync(fd, page, 0, page.length, p);
  }
  return fd;
}

t.test('matches its definition for every size around the chunk grid, holes or not', async (t) => {
  const dir = scratchDir(t, 'checksum');
  const sizes = [0, 1, 4096, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + CHUNK_SIZE / 2];
  for (const size of sizes) {
    const bytes = new Uint8Array(size);
    // Data in a few places; whole chunks and pages of zeros between.
    for (const at of [0, 5000, CHUNK_SIZE + 17, 3 * CHUNK_SIZE + 100]) if (at < size) bytes.fill(0xa5, at, Math.min(size, at + 3000));
    const expected = reference(bytes);
    const sparse = fileOf(dir, `s${size}`, bytes, true);
    const dense = fileOf(dir, `d${size}`, bytes, false);
    t.equal(await checksumOfFile(sparse, size), expected, `sparse file of ${size} bytes`);
    t.equal(await checksumOfFile(dense, size), expected, `dense file of ${size} bytes`);
    const digests = new ChunkDigests(size);
    for (const i of digests.missing().reverse()) digests.set(i, bytes.subarray(i * CHUNK_SIZE, Math.min(size, (i + 1) * CHUNK_SIZE)));
    t.equal(digests.value(), expected, 'chunks recorded in any order');
    closeSync(sparse);
    closeSync(dense);
  }
});

t.test('any flipped bit changes it; an all-zero chunk is not a missing one', async (t) => {
  const size = 2 * CHUNK_SIZE + 300;
  const bytes = new Uint8Array(size);
  bytes.fill(7, 100, 200);
  const base = reference(bytes);
  for (const at of [0, 150, CHUNK_SIZE - 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 299]) {
    bytes[at] = bytes[at]! ^ 0x10;
    const digests = new ChunkDigests(size);
    for (const i of digests.missing()) digests.set(i, bytes.subarray(i * CHUNK_SIZE, Math.min(size, (i + 1) * CHUNK_SIZE)));
    t.not(digests.value(), base, `bit flipped at ${at}`);
    bytes[at] = bytes[at]! ^ 0x10;
  }
  const partial = new ChunkDigests(size);
  partial.set(0, null);
  t.throws(() => partial.value(), /2 chunks of the image were not hashed/);
  t.throws(() => partial.set(2, new Uint8Array(10)), RangeError, 'a chunk of the wrong length is refused');
  t.not(reference(new Uint8Array(10)), reference(new Uint8Array(11)), 'the size is part of it');
});
