// digestChunks: the same digests as digestOf (and the high halves of
// XXH3-128), chunk by chunk, whether a chunk is hashed on this thread or by
// a worker reading the same mapping.
import t from 'tap';
import { createRequire } from 'node:module';
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { randomFillSync } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { BLOCKS_PER_CHUNK, blockDigestsOf, digestOf } from '../../src/format/index.js';
import { Mapping, MappingWindows, memfdCreate } from '../../src/sys/index.js';
import { digestChunks, digestsInOrder, type DigestPiece } from '../../src/live/parallel-digests.js';
import { HashWorker } from '../../src/live/hash-workers.js';

const MiB = 1 << 20;

// The reference for the high halves is another binding of XXH3-128 (seed 0), not the code under test.
const xxh128 = (createRequire(import.meta.url)('@node-rs/xxhash').xxh3 as { xxh128(input: Uint8Array): bigint }).xxh128;
const highOf = (bytes: Uint8Array): bigint => xxh128(bytes) >> 64n;

/** A memory file of `size` bytes of random data, mapped read-only. */
function randomFile(t: { teardown(fn: () => void): void }, size: number): { mapping: Mapping; bytes: Buffer } {
  const fd = memfdCreate('parallel-digests');
  ftruncateSync(fd, size);
  const bytes = randomFillSync(Buffer.alloc(size));
  writeSync(fd, bytes, 0, size, 0);
  const mapping = Mapping.map(fd, size);
  t.teardown(() => {
    mapping.close();
    closeSync(fd);
  });
  return { mapping, bytes };
}

/** Counts the messages posted to worker threads from now until the test ends. */
function countPosts(t: { teardown(fn: () => void): void }): { count: number } {
  const posts = { count: 0 };
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
    posts.count += 1;
    return post.apply(this, args);
  };
  t.teardown(() => {
    Worker.prototype.postMessage = post;
  });
  return posts;
}

for (const [what, size, chunk] of [
  ['64 MiB in 64 KiB chunks (shared with workers)', 64 * MiB, 64 * 1024],
  ['48 MiB + 1000 bytes (a short last chunk)', 48 * MiB + 1000, 64 * 1024],
  ['48 MiB + 200 bytes (a last chunk short of 240 bytes)', 48 * MiB + 200, 64 * 1024],
  ['1 MiB (this thread only)', MiB, 64 * 1024],
] as const) {
  t.test(what, async (t) => {
    const { mapping, bytes } = randomFile(t, size);
    const all = Array.from({ length: Math.ceil(size / chunk) }, (_, k) => k);
    const expected = all.map((k) => digestOf(bytes.subarray(k * chunk, Math.min((k + 1) * chunk, size))));
    const highs = all.map((k) => highOf(bytes.subarray(k * chunk, Math.min((k + 1) * chunk, size))));
    const every = await digestChunks(new MappingWindows(mapping), all, chunk, size);
    t.same([...every.digests], expected, 'every chunk, in order');
    t.same([...every.highs], highs, 'and the high halves of their XXH3-128');
    const some = all.filter((k) => k % 3 !== 1);
    const subset = await digestChunks(new MappingWindows(mapping), some, chunk, size);
    t.same([...subset.digests], some.map((k) => expected[k]), 'a subset, aligned with its indexes');
    t.same([...subset.highs], some.map((k) => highs[k]), 'their high halves too');
  });
}

t.test('concurrent calls get their own digests', async (t) => {
  const a = randomFile(t, 40 * MiB);
  const b = randomFile(t, 40 * MiB);
  const all = Array.from({ length: 640 }, (_, k) => k);
  const [da, db] = await Promise.all([digestChunks(new MappingWindows(a.mapping), all, 64 * 1024, 40 * MiB), digestChunks(new MappingWindows(b.mapping), all, 64 * 1024, 40 * MiB)]);
  t.equal(da.digests[639], digestOf(a.bytes.subarray(639 * 65536)));
  t.equal(db.digests[639], digestOf(b.bytes.subarray(639 * 65536)));
  t.equal(da.digests[100], digestOf(a.bytes.subarray(100 * 65536, 101 * 65536)));
  t.equal(db.highs[100], highOf(b.bytes.subarray(100 * 65536, 101 * 65536)));
  t.comment(`${availableParallelism()} cores: ${availableParallelism() - 1} worker(s) besides this thread`);
});

t.test('a large input is shared with the workers (a mapping made as a capture makes it, never viewed whole)', async (t) => {
  if (availableParallelism() < 2) return void t.skip('one core: no worker is started');
  const posts = countPosts(t);
  const { mapping, bytes } = randomFile(t, 64 * MiB);
  const all = Array.from({ length: 1024 }, (_, k) => k);
  const { digests, highs } = await digestChunks(new MappingWindows(mapping), all, 64 * 1024, 64 * MiB);
  t.ok(posts.count > 0, `${posts.count} share(s) posted to a worker`);
  t.equal(digests[1023], digestOf(bytes.subarray(1023 * 65536)), 'and the worker\'s share is right');
  t.equal(highs[1023], highOf(bytes.subarray(1023 * 65536)), 'to 128 bits');
});

t.test('digestsInOrder: pieces in order while the caller works on each; a return() waits for the pieces in flight', async (t) => {
  const { mapping, bytes } = randomFile(t, 96 * MiB);
  const all = Array.from({ length: 1536 }, (_, k) => k);
  const seen: bigint[] = [];
  for await (const piece of digestsInOrder(new MappingWindows(mapping), all, 64 * 1024, 96 * MiB)) {
    seen.push(...piece.digests);
    t.equal(piece.blocks, null, 'no block digests unless asked');
    // The caller's own work on the piece, as a capture writes its changed chunks.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.same(seen, all.map((k) => digestOf(bytes.subarray(k * 65536, (k + 1) * 65536))), 'every digest, in order');
  // Left after the first piece: the workers stop, and nothing reads the mapping once return() resolved.
  const early = digestsInOrder(new MappingWindows(mapping), all, 64 * 1024, 96 * MiB);
  const first = await early.next();
  t.equal((first.value as DigestPiece).digests[0], digestOf(bytes.subarray(0, 65536)), 'the first piece');
  await early.return(undefined);
  t.same(await early.next(), { done: true, value: undefined }, 'and nothing after a return()');
});

/**
 * A 256 MiB mapping in 16 pieces of 64 KiB chunks, hashed once (the pool
 * started, the pages in), and a count of the pieces posted to workers from
 * now on; null on one core, where no worker is started.
 */
async function warmedUp(t: Parameters<Parameters<typeof t.test>[1]>[0]): Promise<{ mapping: Mapping; all: number[]; size: number; posts: { count: number } } | null> {
  if (availableParallelism() < 2) return null;
  const size = 256 * MiB;
  const { mapping } = randomFile(t, size);
  const all = Array.from({ length: size / 65536 }, (_, k) => k);
  for await (const _ of digestsInOrder(new MappingWindows(mapping), all, 65536, size));
  return { mapping, all, size, posts: countPosts(t) };
}

t.test('digestsInOrder shares the work with the workers and lets the event loop run between pieces', async (t) => {
  const warm = await warmedUp(t);
  if (warm === null) return void t.skip('one core: no worker is started');
  const { mapping, all, size, posts } = warm;
  const t0 = performance.now();
  const pieces = digestsInOrder(new MappingWindows(mapping), all, 65536, size);
  const first = pieces.next(); // runs the body up to its first await
  const heldMs = performance.now() - t0;
  await first;
  for await (const _ of { [Symbol.asyncIterator]: () => pieces });
  const totalMs = performance.now() - t0;
  t.comment(`${posts.count} of 16 pieces posted to workers; the first next() held this thread ${heldMs.toFixed(1)} of ${totalMs.toFixed(1)} ms`);
  t.ok(posts.count > 2, 'the workers hash more than their first piece each');
  t.ok(heldMs < totalMs / 2, 'the first next() does not hash most of the input before it returns');
});

t.test('digestsInOrder keeps the workers hashing while the caller is busy with a piece', async (t) => {
  const warm = await warmedUp(t);
  if (warm === null) return void t.skip('one core: no worker is started');
  const { mapping, all, size, posts } = warm;
  // A worker hashes a 16 MiB piece in about 2 ms, so it keeps up even with
  // a small share of a loaded machine; a caller that hashed a piece itself
  // whenever it had not yet read a worker's reply (as before) took about
  // half of them. A worker thread the machine does not schedule at all
  // meanwhile (other tests on every core) hashes nothing, whatever the
  // code: up to three rounds, the best counts.
  const counts: number[] = [];
  for (let round = 0; round < 3 && (counts.at(-1) ?? 0) < 11; round++) {
    posts.count = 0;
    for await (const _ of digestsInOrder(new MappingWindows(mapping), all, 65536, size)) {
      // The caller's work on a piece without a turn of the event loop, as a
      // capture compares and writes its changed chunks: long enough for a
      // worker to hash a piece meanwhile.
      const until = performance.now() + 25;
      while (performance.now() < until);
    }
    counts.push(posts.count);
  }
  t.comment(`pieces of 16 posted to workers, by round: ${counts.join(', ')}`);
  t.ok(Math.max(...counts) >= 11, 'the workers hash more than two thirds of the pieces');
});

t.test('digestsInOrder leaves this thread a share of a small input', async (t) => {
  if (availableParallelism() < 2) return void t.skip('one core: no worker is started');
  const size = 48 * MiB; // 3 pieces: the least that is shared with workers
  const { mapping, bytes } = randomFile(t, size);
  const all = Array.from({ length: size / 65536 }, (_, k) => k);
  await digestChunks(new MappingWindows(mapping), all, 65536, size); // the pool started
  const posts = countPosts(t);
  const { digests } = await digestChunks(new MappingWindows(mapping), all, 65536, size);
  t.equal(digests[47], digestOf(bytes.subarray(47 * 65536, 48 * 65536)), 'the digests');
  t.comment(`${posts.count} of 3 pieces posted to workers`);
  t.ok(posts.count >= 1 && posts.count < 3, 'a worker hashes some, this thread the others');
});

t.test('digestsInOrder withBlocks: a marked chunk comes with its blocks\' digests, of the same bytes as its own, on this thread and on the workers', async (t) => {
  // The reference is another binding of XXH3-64 (seed 0), not the code under test.
  const xxh3 = createRequire(import.meta.url)('@node-rs/xxhash').xxh3 as { xxh64(input: Uint8Array): bigint };
  const posts = countPosts(t);
  for (const size of [8 * MiB, 64 * MiB]) {
    const { mapping, bytes } = randomFile(t, size);
    posts.count = 0;
    const all = Array.from({ length: size / 65536 }, (_, k) => k);
    const withBlocks = Uint8Array.from(all, (k) => (k % 3 === 1 ? 1 : 0));
    let at = 0;
    let wrong = 0;
    let checked = 0;
    for await (const piece of digestsInOrder(new MappingWindows(mapping), all, 65536, size, withBlocks)) {
      for (let i = 0; i < piece.digests.length; i++, at++) {
        const chunk = bytes.subarray(at * 65536, (at + 1) * 65536);
        if (piece.digests[i] !== xxh3.xxh64(chunk) || piece.highs[i] !== highOf(chunk)) wrong++;
        if (withBlocks[at] === 0) continue;
        const expected = Array.from({ length: BLOCKS_PER_CHUNK }, (_, j) => xxh3.xxh64(chunk.subarray(j * 4096, (j + 1) * 4096)));
        if (piece.blocks === null) {
          wrong++;
          continue;
        }
        if (piece.blocks.subarray(i * BLOCKS_PER_CHUNK, (i + 1) * BLOCKS_PER_CHUNK).some((d, j) => d !== expected[j])) wrong++;
        checked++;
      }
    }
    t.equal(at, all.length, `${size / MiB} MiB: every chunk`);
    t.equal(checked, withBlocks.filter((m) => m === 1).length, `${size / MiB} MiB: every marked chunk checked`);
    t.equal(wrong, 0, `${size / MiB} MiB: every digest right`);
    if (size >= 32 * MiB && availableParallelism() > 1) t.ok(posts.count > 0, `${size / MiB} MiB: pieces were hashed on the workers (${posts.count})`);
    else t.equal(posts.count, 0, `${size / MiB} MiB: all on this thread`);
  }
});

t.test('a worker itself hashes by address: its replies are digestOf\'s, with and without block digests (a failing worker would hand its piece back unseen)', async (t) => {
  // A short last chunk and block; then last chunks at, below and above the
  // 240 bytes where XXH3-128's low half stops being XXH3-64 (sys/xxh3.ts).
  const worker = new HashWorker();
  for (const size of [4 * MiB + 12345, 4 * MiB + 100, 4 * MiB + 240, 4 * MiB + 241]) {
    const { mapping, bytes } = randomFile(t, size);
    const chunkSize = 64 * 1024;
    const n = Math.ceil(size / chunkSize);
    const indexes = Float64Array.from({ length: n }, (_, i) => i);
    const withBlocks = Uint8Array.from({ length: n }, (_, i) => i % 3 === 0 ? 1 : 0);
    for (const marks of [null, withBlocks]) {
      const piece = await worker.digest({ address: mapping.address, length: mapping.length, indexes, withBlocks: marks, chunkSize, blockSize: 4096, size });
      let wrong = 0;
      for (let k = 0; k < n; k++) {
        const chunk = bytes.subarray(k * chunkSize, Math.min((k + 1) * chunkSize, size));
        if (piece.digests[k] !== digestOf(chunk) || piece.highs[k] !== highOf(chunk)) wrong++;
        if (marks?.[k] !== 1) continue;
        const expected = new BigUint64Array(BLOCKS_PER_CHUNK);
        blockDigestsOf(chunk, expected);
        for (let j = 0; j < Math.ceil(chunk.length / 4096); j++) if (piece.blocks![k * BLOCKS_PER_CHUNK + j] !== expected[j]) wrong++;
      }
      t.equal(wrong, 0, `${size - 4 * MiB} bytes past 4 MiB: ${marks === null ? 'chunk digests' : 'chunk and block digests'}`);
    }
  }
  t.equal(worker.broken, false, 'the worker is still up');
});
