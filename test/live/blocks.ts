// What a capture writes besides the copy: the head (rings and the tail up
// to the next 64 KiB boundary) at every size, and a delta whose parent
// cannot be read (it becomes a full generation, with a line saying why).
import t from 'tap';
import { closeSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { SnapshotStore, realStoreFs } from '../../src/store/index.js';
import { CaptureError, KeptMapping, capture, restoreImage } from '../../src/live/index.js';
import { memfdCreate } from '../../src/sys/index.js';
import { liveFile, scratchDir, withPaths } from '../store/helpers.js';

/** `length` bytes of file `fd` at `at`. */
function bytesAt(fd: number, at: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  readSync(fd, out, 0, length, at);
  return out;
}

// Sizes whose head reaches the file's end, some not a multiple of 4 KiB.
for (const size of [50_000, 65_536, 40_961, 73_728]) {
  for (const maxChain of [0, 10]) t.test(`a ${size}-byte file (${maxChain === 0 ? 'full generations' : 'deltas'}): every byte of the head is stored`, async (t) => {
    const dir = scratchDir(t, 'blocks');
    const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain } });
    t.teardown(() => store.close());
    const { fd, state } = liveFile(t, size, 8, 4096);
    for (let round = 1; round <= 3; round++) {
      state.commit(new TextEncoder().encode(`round ${round}`));
      // Bytes in the last (possibly short) block, and just after the rings.
      writeSync(fd, Buffer.alloc(100, round), 0, 100, size - 100);
      writeSync(fd, Buffer.alloc(10, round + 100), 0, 10, state.layout.tailBase);
      const { generation } = await capture(fd, store, 'request');
      t.same(await store.verify(generation), { ok: true }, `round ${round}: generation ${generation.sequence} (${generation.manifest.kind}) verifies`);
      const out = memfdCreate('blocks-restore');
      t.teardown(() => closeSync(out));
      await restoreImage(generation, out, 0, store);
      t.same(bytesAt(out, size - 100, 100), Buffer.alloc(100, round), `round ${round}: its last bytes restore`);
      t.same(bytesAt(out, state.layout.tailBase, 10), Buffer.alloc(10, round + 100), `round ${round}: the bytes after the rings restore`);
    }
  });
}

t.test('a delta whose parent cannot be read: a full generation, saying why, and deltas again after it', async (t) => {
  const dir = scratchDir(t, 'blocks');
  const store = await SnapshotStore.open(dir, { keep: 5 });
  t.teardown(() => store.close());
  const { fd, state } = liveFile(t, 4 << 20, 64, 65536);
  state.commit(new TextEncoder().encode('a'));
  writeSync(fd, Buffer.alloc(1 << 20, 1), 0, 1 << 20, 2 << 20);
  const first = (await capture(fd, store, 'request')).generation;
  t.equal(first.manifest.kind, 'full');
  unlinkSync(first.imagePath); // an operator, or damage
  writeSync(fd, Buffer.alloc(4096, 2), 0, 4096, 2 << 20);
  state.commit(new TextEncoder().encode('b'));
  const next = await capture(fd, store, 'request');
  t.equal(next.generation.manifest.kind, 'full', 'the capture that found its parent gone is full');
  t.match(next.fullBecause, /^the parent of the delta, generation 1, could not be read \(generation 1 cannot be read: gen-0+1\.img is missing\): a full generation is written instead$/);
  t.same(await store.verify(next.generation), { ok: true });
  writeSync(fd, Buffer.alloc(4096, 3), 0, 4096, 3 << 20);
  const after = await capture(fd, store, 'request');
  t.equal(after.generation.manifest.kind, 'delta', 'the one after it is a delta of it');
  t.equal(after.generation.manifest.parent, next.generation.sequence);
  t.equal(after.fullBecause, null);
});

t.test('a delta whose head cannot be written while workers hash its tail: one io error, nothing unhandled, the kept mapping let go, and the next capture stored', async (t) => {
  // 64 MiB with a 4 MiB ring: the head spans several 1 MiB batches (a failed
  // write surfaces inside it), and the tail is large enough for workers.
  const size = 64 << 20;
  const dir = scratchDir(t, 'blocks-head');
  let failDeltas = false;
  const sfs = withPaths((pathOf) => ({
    write: async (fd, buf, offset, length, position) => {
      if (failDeltas && pathOf(fd).endsWith('.delta')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return realStoreFs.write(fd, buf, offset, length, position);
    },
  }));
  const store = await SnapshotStore.open(dir, { fs: sfs, chain: { maxChain: 4 } });
  t.teardown(() => store.close());
  const { fd, state } = liveFile(t, size, 4096, 4 << 20);
  writeSync(fd, Buffer.alloc(size - state.layout.tailBase, 0x3c), 0, size - state.layout.tailBase, state.layout.tailBase);
  const kept = new KeptMapping(fd);
  await capture(fd, store, 'request', { kept });
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => void unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));
  state.commit(new TextEncoder().encode('after the full one'));
  writeSync(fd, Buffer.alloc(4096, 0x5d), 0, 4096, size - 8192);
  failDeltas = true;
  const err = await capture(fd, store, 'request', { kept }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof CaptureError && err.kind === 'io', `an io CaptureError (${String(err)})`);
  t.notOk((err as Error).message.includes('\n'), 'one line');
  // A turn for any rejection left behind to be reported.
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(unhandled, [], 'no unhandled rejection');
  failDeltas = false;
  const { generation } = await capture(fd, store, 'request', { kept });
  t.equal(generation.manifest.kind, 'delta', 'the next capture is a delta again');
  t.ok((await store.verify(generation)).ok, 'and it verifies');
  // The writer's own mapping goes too (liveFile's close at teardown does nothing more).
  state.close();
  kept.close();
  const mapped = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('memfd:store-test'));
  t.same(mapped, [], 'closed, the kept mapping is unmapped: no capture still held it');
});
