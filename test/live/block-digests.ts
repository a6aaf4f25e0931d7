// A delta's changed chunks compared with the parent's block digests, kept
// in memory from the captures before it, instead of the parent's bytes.
import t from 'tap';
import { closeSync, ftruncateSync, readSync, renameSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { SnapshotStore } from '../../src/store/index.js';
import { capture, restoreImage } from '../../src/live/index.js';
import { memfdCreate } from '../../src/sys/index.js';
import { liveFile, scratchDir } from '../store/helpers.js';

const MiB = 1 << 20;

/** `length` bytes of file `fd` at `at`. */
function bytesAt(fd: number, at: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  readSync(fd, out, 0, length, at);
  return out;
}

for (const grow of [false, true]) {
  t.test(`a delta whose parent's block digests are known reads none of the parent's bytes${grow ? ', the file grown since' : ''}: with the chain's full image moved away it is still a delta, and restores exactly`, async (t) => {
    const dir = scratchDir(t, 'block-digests');
    const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain: 10 } });
    t.teardown(() => store.close());
    const size = 8 * MiB;
    const { fd, state } = liveFile(t, size, 64, 65536);
    const tailBase = state.layout.tailBase;
    writeSync(fd, randomFillSync(Buffer.alloc(size - tailBase)), 0, size - tailBase, tailBase);
    state.commit(new TextEncoder().encode('one'));
    const full = (await capture(fd, store, 'request')).generation;
    t.equal(full.manifest.kind, 'full');
    // Nothing changed in the tail: this delta learns every chunk's blocks.
    state.commit(new TextEncoder().encode('two'));
    const learned = (await capture(fd, store, 'request')).generation;
    t.equal(learned.manifest.kind, 'delta');
    // Scattered 4 KiB pages, two in one chunk, and a short write inside a page.
    const pages = [40, 41, 300, 777, 1500, 2000].map((p) => tailBase + p * 4096);
    for (const at of pages) writeSync(fd, randomFillSync(Buffer.alloc(4096)), 0, 4096, at);
    writeSync(fd, Buffer.from('changed'), 0, 7, tailBase + 1000 * 4096 + 123);
    let end = size;
    if (grow) {
      end = size + 2 * MiB;
      ftruncateSync(fd, end);
      writeSync(fd, randomFillSync(Buffer.alloc(MiB)), 0, MiB, size + 512 * 1024);
    }
    state.commit(new TextEncoder().encode('three'));
    renameSync(full.imagePath, `${full.imagePath}.away`);
    const result = await capture(fd, store, 'request');
    renameSync(`${full.imagePath}.away`, full.imagePath);
    t.equal(result.generation.manifest.kind, 'delta', 'still a delta');
    t.equal(result.fullBecause, null, 'with no parent to read');
    t.equal(result.generation.manifest.parent, learned.sequence);
    t.same(await store.verify(result.generation), { ok: true }, 'it verifies');
    const out = memfdCreate('block-digests-restore');
    t.teardown(() => closeSync(out));
    await restoreImage(result.generation, out, 0, store);
    t.ok(bytesAt(out, tailBase, end - tailBase).equals(bytesAt(fd, tailBase, end - tailBase)), 'its tail restores byte for byte');
    // The head (whole chunks up to the first one past the rings) plus the
    // 7 changed pages, and for a grown file its 1 MiB of new data: nothing else.
    const head = Math.ceil(tailBase / 65536) * 16;
    const held = result.generation.manifest.delta!.held;
    t.equal(held, head + 7 + (grow ? 256 : 0), `it holds the head's ${head} blocks and the changed ones (${held})`);
  });
}

t.test('after a full generation the first delta reads the parent (its block digests are not known yet)', async (t) => {
  const dir = scratchDir(t, 'block-digests');
  const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain: 10 } });
  t.teardown(() => store.close());
  const size = 4 * MiB;
  const { fd, state } = liveFile(t, size, 64, 65536);
  writeSync(fd, randomFillSync(Buffer.alloc(MiB)), 0, MiB, 2 * MiB);
  const full = (await capture(fd, store, 'request')).generation;
  writeSync(fd, randomFillSync(Buffer.alloc(4096)), 0, 4096, 2 * MiB + 8192);
  state.commit(new TextEncoder().encode('x'));
  renameSync(full.imagePath, `${full.imagePath}.away`);
  const result = await capture(fd, store, 'request');
  renameSync(`${full.imagePath}.away`, full.imagePath);
  t.equal(result.generation.manifest.kind, 'full', 'a full generation: the changed chunk needed the parent');
  t.match(result.fullBecause, /could not be read/);
});
