// Restoring a generation into a memory file: exact bytes, sized
// max(requested, image), holes kept, damage detected while copying, and a
// header that tells the child everything in it is durable.
import t from 'tap';
import { closeSync, fstatSync, readSync, truncateSync, writeFileSync, openSync, writeSync } from 'node:fs';
import { readExtension } from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { SnapshotStore, StoreError, UnusableGeneration } from '../../src/store/index.js';
import { dataRuns } from '../../src/sys/index.js';
import { capture, restoreImage } from '../../src/live/index.js';
import { attach } from '../../src/client/index.js';
import { commitRecords, liveFile, memoryFile, readBytes, scratchDir } from '../store/helpers.js';

function contents(fd: number): Uint8Array {
  const size = fstatSync(fd).size;
  const out = new Uint8Array(size);
  let done = 0;
  while (done < size) done += readSync(fd, out, done, size - done, done);
  return out;
}

t.test('restores the exact image into a new file, sized max(requested, image), holes kept', async (t) => {
  const dir = scratchDir(t, 'restore');
  const { fd, state } = liveFile(t, 8 << 20, 256, 1 << 20);
  commitRecords(state, 500);
  state.tail.fill(0x5a, 3 << 20, (3 << 20) + 10_000); // data far into the tail; holes around it
  const store = await SnapshotStore.open(dir);
  t.teardown(() => store.close());
  const { generation } = await capture(fd, store, 'request');
  const image = readBytes(generation.imagePath);

  const target = memoryFile(t, 0);
  t.same(await restoreImage(generation, target, 4096), { size: 8 << 20 }, 'the image is larger than requested');
  const restored = contents(target);
  t.same(restored.subarray(0, 32), image.subarray(0, 32));
  t.ok(Buffer.compare(restored.subarray(64), image.subarray(64)) === 0, 'every byte after the extension words is the image\'s');
  const dataBytes = dataRuns(target, 0, 8 << 20).reduce((n, [a, b]) => n + b - a, 0);
  t.ok(dataBytes < 1 << 20, `only the image's data became pages (${dataBytes} bytes)`);

  const bigger = memoryFile(t, 0);
  t.same(await restoreImage(generation, bigger, 16 << 20), { size: 16 << 20 });
  t.equal(fstatSync(bigger).size, 16 << 20);

  // The child resumes on it with its records, and learns they are durable.
  const resumed = attach({ fd: bigger });
  t.teardown(() => resumed.close());
  t.same(resumed.records().map((r) => r.offset), state.records().map((r) => r.offset));
  const latest = generation.manifest.latest!;
  t.equal(resumed.durableOffset(), BigInt(latest.offset) + BigInt(latest.length));
  t.equal(resumed.snapshotSeq(), BigInt(generation.sequence));
});

t.test('a destination that already holds data ends up exactly the image', async (t) => {
  const dir = scratchDir(t, 'restore');
  const { fd, state } = liveFile(t, 1 << 20, 64, 64 * 1024);
  commitRecords(state, 50);
  const store = await SnapshotStore.open(dir);
  t.teardown(() => store.close());
  const { generation } = await capture(fd, store, 'request');
  const dirty = memoryFile(t, 3 << 20);
  writeSync(dirty, Buffer.alloc(3 << 20, 0xee), 0, 3 << 20, 0);
  await restoreImage(generation, dirty, 0);
  const restored = contents(dirty);
  const image = readBytes(generation.imagePath);
  t.ok(Buffer.compare(restored.subarray(64, image.length), image.subarray(64)) === 0, 'image bytes, holes as zeros');
  t.ok(restored.subarray(image.length).every((b) => b === 0), 'past the image: zeros');
});

t.test('an image damaged after it was verified is refused while copying', async (t) => {
  const dir = scratchDir(t, 'restore');
  const { fd, state } = liveFile(t);
  commitRecords(state, 20);
  const store = await SnapshotStore.open(dir);
  t.teardown(() => store.close());
  const { generation } = await capture(fd, store, 'request');
  t.same(await store.verify(generation), { ok: true });
  const f = openSync(generation.imagePath, 'r+');
  writeSync(f, Uint8Array.of(0x42), 0, 1, 70_000);
  closeSync(f);
  const target = memoryFile(t, 0);
  const err = await restoreImage(generation, target, 0).then(() => null, (e: unknown) => e);
  t.ok(err instanceof StoreError);
  t.equal((err as StoreError).code, 'CORRUPT');
  t.match((err as Error).message, /^cannot restore generation 1: checksum mismatch: image gen-0000000000000001\.img changed after it was written \(manifest [0-9a-f]{16}, image [0-9a-f]{16}\): restore an older generation/);
  t.ok(err instanceof UnusableGeneration, 'an UnusableGeneration');
  t.match((err as UnusableGeneration).reason, /^checksum mismatch: image gen-0000000000000001\.img changed after it was written \(manifest/, 'whose reason is the line verify gives');
  t.equal((err as UnusableGeneration).reason, (await store.verify(generation) as { reason: string }).reason, 'word for word');

  truncateSync(generation.imagePath, 10);
  const short = await restoreImage(generation, target, 0).then(() => null, (e: unknown) => e);
  t.match(short, { code: 'CORRUPT', message: /has 10 bytes but its manifest says 262144 \(truncated or replaced\)/ });
  t.ok(short instanceof UnusableGeneration, 'unusable too');
  writeFileSync(generation.imagePath, '');
});

t.test('a raw generation restores without touching its header', async (t) => {
  const dir = scratchDir(t, 'restore');
  const fd = memfdCreate('raw');
  t.teardown(() => closeSync(fd));
  writeFileSync(`/proc/self/fd/${fd}`, Buffer.alloc(20_000, 3));
  writeSync(fd, new Uint8Array(8), 0, 8, 0); // magic stays zero: never configured
  const store = await SnapshotStore.open(dir);
  t.teardown(() => store.close());
  const { generation } = await capture(fd, store, 'post-mortem');
  t.equal(generation.manifest.configured, false);
  const target = memoryFile(t, 0);
  await restoreImage(generation, target, 0);
  t.same(contents(target), contents(fd));
  const mapping = Mapping.map(target, 4096);
  t.equal(readExtension(mapping.bytes).durableOffset, 0n);
  mapping.close();
});
