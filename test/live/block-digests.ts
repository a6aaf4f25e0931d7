// A delta's changed chunks compared with the parent's block digests, kept
// in memory from the captures before it, instead of the parent's bytes.
import t from 'tap';
import fc from 'fast-check';
import { closeSync, ftruncateSync, readFileSync, readSync, renameSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { SnapshotStore, TEMP_PREFIX, realStoreFs, type Generation, type StoreFs } from '../../src/store/index.js';
import { capture, restoreImage } from '../../src/live/index.js';
import { BLOCKS_PER_CHUNK, blockDigestsOf, wideDigestOf } from '../../src/format/index.js';
import { memfdCreate } from '../../src/sys/index.js';
import { liveFile, scratchDir, withPaths } from '../store/helpers.js';

const MiB = 1 << 20;

/** `length` bytes of file `fd` at `at`. */
function bytesAt(fd: number, at: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  readSync(fd, out, 0, length, at);
  return out;
}

/** The real file system, counting reads of committed data files (a generation's image or delta file, not one being written), and of manifests. */
function countingReads(): { sfs: StoreFs; reads: () => number; manifestReads: () => number; manifestsRead: string[] } {
  let reads = 0;
  const manifestsRead: string[] = [];
  const count = (path: string): void => {
    if (path.split('/').at(-1)!.startsWith(TEMP_PREFIX)) return;
    if (/\.(img|delta)$/.test(path)) reads++;
    if (path.endsWith('.json')) manifestsRead.push(path);
  };
  const sfs = withPaths((pathOf) => ({
    read: (fd, buf, offset, length, position) => {
      count(pathOf(fd));
      return realStoreFs.read(fd, buf, offset, length, position);
    },
    readSync: (fd, buf, offset, length, position) => {
      count(pathOf(fd));
      return realStoreFs.readSync!(fd, buf, offset, length, position);
    },
  }));
  return { sfs, reads: () => reads, manifestReads: () => manifestsRead.length, manifestsRead };
}

/** A store (keep 5, chains of up to 10 deltas, through `sfs`) in a scratch directory, and an 8 MiB live file whose tail is random bytes. */
async function randomTail(t: Parameters<typeof scratchDir>[0], sfs: StoreFs = realStoreFs): Promise<{ store: SnapshotStore; fd: number; state: ReturnType<typeof liveFile>['state']; size: number; tailBase: number }> {
  const store = await SnapshotStore.open(scratchDir(t, 'block-digests'), { keep: 5, chain: { maxChain: 10 }, fs: sfs });
  t.teardown(() => store.close());
  const size = 8 * MiB;
  const { fd, state } = liveFile(t, size, 64, 65536);
  const tailBase = state.layout.tailBase;
  writeSync(fd, randomFillSync(Buffer.alloc(size - tailBase)), 0, size - tailBase, tailBase);
  return { store, fd, state, size, tailBase };
}

for (const grow of [false, true]) {
  t.test(`a delta whose parent's block digests are known reads none of the parent's data${grow ? ', the file grown since' : ''}, and restores exactly`, async (t) => {
    const { sfs, reads, manifestReads, manifestsRead } = countingReads();
    const { store, fd, state, size, tailBase } = await randomTail(t, sfs);
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
    const before = reads();
    const manifestsBefore = manifestReads();
    const result = await capture(fd, store, 'request');
    t.equal(reads() - before, 0, 'no read of any image or delta file');
    t.same(manifestsRead.slice(manifestsBefore), [learned.manifestPath], 'one manifest read: the parent\'s own, new since it was written (the chain check knows the chain, and the manifests it saw)');
    t.equal(result.generation.manifest.kind, 'delta', 'a delta');
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
    // The restore told the store the chain it read: a delta of it reads no manifest again.
    writeSync(out, Buffer.from('after the restore'), 0, 17, tailBase + 5000);
    const afterRestore = manifestReads();
    const next = await capture(out, store, 'request');
    t.equal(next.generation.manifest.parent, result.generation.sequence, 'a delta of the restored generation');
    // The chain check reads each of the 3 links' manifests once (none seen by it yet); nothing resolves the chain again.
    t.same(manifestsRead.slice(afterRestore), [result.generation, learned, full].map((g) => g.manifestPath), 'each link\'s manifest read once: the restore gave the store the chain');
  });
}

t.test('after a full generation the first delta reads the parent (its block digests are not known yet)', async (t) => {
  const dir = scratchDir(t, 'block-digests');
  const { sfs, reads } = countingReads();
  const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain: 10 }, fs: sfs });
  t.teardown(() => store.close());
  const size = 4 * MiB;
  const { fd, state } = liveFile(t, size, 64, 65536);
  writeSync(fd, randomFillSync(Buffer.alloc(MiB)), 0, MiB, 2 * MiB);
  await capture(fd, store, 'request');
  writeSync(fd, randomFillSync(Buffer.alloc(4096)), 0, 4096, 2 * MiB + 8192);
  state.commit(new TextEncoder().encode('x'));
  const before = reads();
  const result = await capture(fd, store, 'request');
  t.equal(result.generation.manifest.kind, 'delta');
  t.ok(reads() > before, `the changed chunk was compared with the parent's bytes (${reads() - before} reads)`);
});

// A delta that needs none of its parent's bytes must still not be written
// on a chain that can no longer be restored: the capture is full, and says
// why in the words verify uses for the parent.
const damages: Record<string, (full: Generation, middle: Generation) => void> = {
  'the full image missing': (full) => renameSync(full.imagePath, `${full.imagePath}.away`),
  'the full image truncated': (full) => truncateSync(full.imagePath, 4096),
  'the full generation without its manifest': (full) => renameSync(full.manifestPath, `${full.manifestPath}.away`),
  'the full generation\'s manifest overwritten with garbage': (full) => writeFileSync(full.manifestPath, '{garbage'),
  'a delta link cut short': (_, middle) => truncateSync(middle.imagePath, 100),
  'a delta link cut short and the full generation without its manifest (the manifest is named, as verify names it)': (full, middle) => {
    truncateSync(middle.imagePath, 100);
    renameSync(full.manifestPath, `${full.manifestPath}.away`);
  },
};
for (const [damage, inflict] of Object.entries(damages)) {
  t.test(`${damage}: the next capture is full and says why as verify does, although nothing changed`, async (t) => {
    const dir = scratchDir(t, 'block-digests');
    const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain: 10 } });
    t.teardown(() => store.close());
    const { fd, state } = liveFile(t, 4 * MiB, 64, 65536);
    writeSync(fd, randomFillSync(Buffer.alloc(MiB)), 0, MiB, 2 * MiB);
    const full = (await capture(fd, store, 'request')).generation;
    state.commit(new TextEncoder().encode('a'));
    writeSync(fd, randomFillSync(Buffer.alloc(4096)), 0, 4096, 3 * MiB);
    const middle = (await capture(fd, store, 'request')).generation;
    state.commit(new TextEncoder().encode('b'));
    const tip = (await capture(fd, store, 'request')).generation;
    t.same([middle.manifest.kind, tip.manifest.kind], ['delta', 'delta']);
    inflict(full, middle);
    const verdict = await store.verify(tip);
    t.equal(verdict.ok, false, 'verify finds the chain broken');
    state.commit(new TextEncoder().encode('c'));
    const result = await capture(fd, store, 'request');
    t.equal(result.generation.manifest.kind, 'full', 'a full generation');
    const why = `generation ${tip.sequence} cannot be read: ${(verdict as { reason: string }).reason}`;
    t.equal(result.fullBecause, `the parent of the delta, generation ${tip.sequence}, could not be read (${why}): a full generation is written instead`);
    t.same(await store.verify(result.generation), { ok: true }, 'and it verifies');
  });
}

t.test('the parent\'s own manifest replaced by one naming another parent: the next capture is full and says so (it once recursed without end)', async (t) => {
  const dir = scratchDir(t, 'block-digests');
  const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain: 10 } });
  t.teardown(() => store.close());
  const { fd, state } = liveFile(t, 4 * MiB, 64, 65536);
  const full = (await capture(fd, store, 'request')).generation;
  state.commit(new TextEncoder().encode('a'));
  const middle = (await capture(fd, store, 'request')).generation;
  state.commit(new TextEncoder().encode('b'));
  const tip = (await capture(fd, store, 'request')).generation;
  t.equal(tip.manifest.parent, middle.sequence);
  // Still a valid manifest, naming an older generation that exists.
  writeFileSync(tip.manifestPath, readFileSync(tip.manifestPath, 'utf8').replace(`"parent": ${middle.sequence}`, `"parent": ${full.sequence}`));
  state.commit(new TextEncoder().encode('c'));
  const result = await capture(fd, store, 'request');
  t.equal(result.generation.manifest.kind, 'full');
  t.match(result.fullBecause, `could not be read (generation ${tip.sequence} cannot be read: the manifest of generation ${tip.sequence} changed since it was read (it names parent ${full.sequence}, not ${middle.sequence})): a full generation is written instead`);
});

t.test('a link deeper in the chain rewritten into another consistent chain: the next capture is full, not a delta on the chain kept', async (t) => {
  const dir = scratchDir(t, 'block-digests');
  const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain: 10 } });
  t.teardown(() => store.close());
  const { fd, state } = liveFile(t, 4 * MiB, 64, 65536);
  const gens: Generation[] = [];
  for (const c of 'abcd') {
    state.commit(new TextEncoder().encode(c));
    gens.push((await capture(fd, store, 'request')).generation);
  }
  const [full, , third, tip] = gens as [Generation, Generation, Generation, Generation];
  const edit = (g: Generation, change: (m: Record<string, any>) => void): void => {
    const m = JSON.parse(readFileSync(g.manifestPath, 'utf8')) as Record<string, any>;
    change(m);
    writeFileSync(g.manifestPath, `${JSON.stringify(m, null, 2)}\n`);
  };
  // Generation 3 now says it was written on 1, one link shorter, and 4 agrees: a chain that resolves from the disk.
  edit(third, (m) => { m.parent = full.sequence; m.chain.links -= 1; });
  edit(tip, (m) => { m.chain.links -= 1; });
  state.commit(new TextEncoder().encode('e'));
  const result = await capture(fd, store, 'request');
  t.equal(result.generation.manifest.kind, 'full', 'no delta on the chain kept in memory');
  t.match(result.fullBecause, `the manifest of generation ${third.sequence} changed since it was read (it names parent ${full.sequence}, not ${third.sequence - 1})`);
});

t.test('the parent\'s own manifest missing: the next capture is full and says so', async (t) => {
  const dir = scratchDir(t, 'block-digests');
  const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain: 10 } });
  t.teardown(() => store.close());
  const { fd, state } = liveFile(t, 4 * MiB, 64, 65536);
  await capture(fd, store, 'request');
  state.commit(new TextEncoder().encode('a'));
  const tip = (await capture(fd, store, 'request')).generation;
  renameSync(tip.manifestPath, `${tip.manifestPath}.away`);
  state.commit(new TextEncoder().encode('b'));
  const result = await capture(fd, store, 'request');
  t.equal(result.generation.manifest.kind, 'full');
  t.equal(result.fullBecause, `the parent of the delta, generation ${tip.sequence}, could not be read (generation ${tip.sequence} cannot be read: its manifest is missing): a full generation is written instead`);
});

type Edit = { kind: 'page'; slot: number; pattern: number } | { kind: 'grow'; bytes: number } | { kind: 'capture' };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('page' as const), slot: fc.nat(23), pattern: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grow' as const), bytes: fc.integer({ min: 1, max: 300_000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('capture' as const) }) },
);

t.test('property: pages changed and changed back, growth to sizes off the block grid, a file large enough for the hashing workers: every generation restores byte for byte, and every block digest kept describes the newest image', async (t) => {
  let run = 0;
  await fc.assert(fc.asyncProperty(fc.array(edit, { minLength: 4, maxLength: 18 }), async (edits) => {
    const dir = scratchDir(t, `block-digests-prop-${run++}`);
    const store = await SnapshotStore.open(dir, { keep: 20, chain: { maxChain: 20, maxChainRatio: 10 } });
    const start = 36 * MiB;
    const { fd, state } = liveFile(t, start, 64, 65536);
    const tailBase = state.layout.tailBase;
    writeSync(fd, Buffer.alloc(start - tailBase, 7), 0, start - tailBase, tailBase);
    // 24 pages, a few per 64 KiB chunk and spread over the file; pattern 0 is what they held at first.
    const pageAt = (slot: number): number => tailBase + (Math.floor(slot / 3) * 1100 + (slot % 3) * 5) * 4096;
    const expected = new Map<number, Buffer>();
    let size = start;
    try {
      for (const e of [{ kind: 'capture' } as Edit, ...edits, { kind: 'capture' } as Edit]) {
        if (e.kind === 'page') {
          const page = Buffer.alloc(4096, e.pattern === 0 ? 7 : e.pattern);
          page.writeUInt32LE(e.pattern === 0 ? 0x07070707 : 0xdead0000 + e.slot, 100);
          writeSync(fd, page, 0, 4096, pageAt(e.slot));
        } else if (e.kind === 'grow') {
          size += e.bytes;
          ftruncateSync(fd, size);
          writeSync(fd, Buffer.alloc(Math.min(e.bytes, 5000), 9), 0, Math.min(e.bytes, 5000), size - Math.min(e.bytes, 5000));
        } else {
          state.commit(new TextEncoder().encode(`capture ${expected.size}`));
          const { generation } = await capture(fd, store, 'request');
          const image = bytesAt(fd, 0, size);
          expected.set(generation.sequence, image);
          // Every block digest the store keeps for the next delta is that of the image it just wrote.
          const blocks = store.deltaParent(size)?.blocks ?? null;
          const digests = new BigUint64Array(BLOCKS_PER_CHUNK);
          for (let k = 0; blocks !== null && k < blocks.chunks; k++) {
            if (!blocks.known(k)) continue;
            const chunk = image.subarray(k * 65536, Math.min((k + 1) * 65536, size));
            blockDigestsOf(chunk, digests);
            for (let i = 0; i < Math.ceil(chunk.length / 4096); i++) {
              if (blocks.block(k * BLOCKS_PER_CHUNK + i) !== digests[i]) {
                t.fail(`generation ${generation.sequence}: chunk ${k} block ${i}: a kept digest does not describe the image`);
                return false;
              }
            }
          }
        }
      }
      for (const g of await store.list()) {
        if (!g.ok) continue;
        const out = memfdCreate('block-digests-prop');
        try {
          await restoreImage(g, out, 0, store);
          if (!bytesAt(out, 0, g.manifest.imageSize).equals(expected.get(g.sequence)!)) {
            t.fail(`generation ${g.sequence} (${g.manifest.kind}) restores to another image`);
            return false;
          }
        } finally {
          closeSync(out);
        }
      }
      return true;
    } finally {
      await store.close();
    }
  }), { numRuns: 6 });
});

t.test('a chunk is inherited only when all 128 bits of its digest equal the parent\'s: a collision of the low 64 bits alone is written', async (t) => {
  const { store, fd, state, size, tailBase } = await randomTail(t);
  state.commit(new TextEncoder().encode('one'));
  await capture(fd, store, 'request');
  state.commit(new TextEncoder().encode('two'));
  await capture(fd, store, 'request'); // learns every chunk's blocks
  // A page of chunk k changes; then the parent's chunk digest is made to
  // collide with the new bytes' in its low 64 bits (what XXH3-64 alone
  // compares), its high half left as the old bytes'.
  const k = Math.ceil(tailBase / 65536) + 20;
  writeSync(fd, randomFillSync(Buffer.alloc(4096)), 0, 4096, k * 65536 + 8192);
  const parent = store.deltaParent(size);
  if (parent === null) throw new Error('no delta parent');
  const [newLow] = wideDigestOf(bytesAt(fd, k * 65536, 65536));
  t.not(parent.digests.get(k), newLow, 'the chunk changed');
  parent.digests.setDigest(k, newLow, parent.digests.high(k));
  state.commit(new TextEncoder().encode('three'));
  const result = await capture(fd, store, 'request');
  t.equal(result.generation.manifest.kind, 'delta');
  t.same(await store.verify(result.generation), { ok: true }, 'it verifies');
  const out = memfdCreate('block-digests-collision');
  t.teardown(() => closeSync(out));
  await restoreImage(result.generation, out, 0, store);
  t.ok(bytesAt(out, k * 65536, 65536).equals(bytesAt(fd, k * 65536, 65536)), 'the changed chunk restores as written, not as the parent\'s');
});

t.test('a restore, of a full generation or a delta, leaves the store every chunk\'s 128-bit digest: the next delta compares by them', async (t) => {
  const { store, fd, state, size, tailBase } = await randomTail(t);
  state.commit(new TextEncoder().encode('one'));
  const full = (await capture(fd, store, 'request')).generation;
  writeSync(fd, randomFillSync(Buffer.alloc(4096)), 0, 4096, tailBase + 300 * 4096);
  state.commit(new TextEncoder().encode('two'));
  const delta = (await capture(fd, store, 'request')).generation;
  t.equal(delta.manifest.kind, 'delta');
  for (const g of [full, delta]) {
    const out = memfdCreate('block-digests-restored');
    t.teardown(() => closeSync(out));
    await restoreImage(g, out, 0, store);
    const parent = store.deltaParent(size);
    t.equal(parent?.generation.sequence, g.sequence, `generation ${g.sequence} (${g.manifest.kind}) is the next delta's parent`);
    const missing = [...Array(parent!.digests.count).keys()].filter((k) => parent!.digests.high(k) === undefined);
    t.same(missing, [], 'every chunk\'s high half known');
  }
});
