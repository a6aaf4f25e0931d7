// What a capture writes besides the copy: the head (rings and the tail up
// to the next 64 KiB boundary) at every size, and a delta whose parent
// cannot be read (it becomes a full generation, with a line saying why).
import t from 'tap';
import { closeSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { SnapshotStore } from '../../src/store/index.js';
import { capture, restoreImage } from '../../src/live/index.js';
import { memfdCreate } from '../../src/sys/index.js';
import { liveFile, scratchDir } from '../store/helpers.js';

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
