// Delta generations: random sequences of tail writes, commits, captures and
// host restarts (real memfds, a real store) restore byte for byte; retention
// never deletes what a kept generation needs; a damaged link of a chain is
// found by verify and skipped at start; directories of format 1 still work.
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { cpSync, existsSync, fstatSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Mapping } from '../../src/sys/index.js';
import { CHECKSUM_ALGORITHM, SnapshotStore, checksumOfFile, type Generation } from '../../src/store/index.js';
import { capture, restoreImage } from '../../src/live/index.js';
import { attach } from '../../src/client/index.js';
import { commitRecords, liveFile, memoryFile, scratchDir } from './helpers.js';

const SIZE = 256 * 1024;

function contents(fd: number, size = fstatSync(fd).size): Buffer {
  const m = Mapping.map(fd, size);
  try {
    return Buffer.from(m.bytes);
  } finally {
    m.close();
  }
}

/** Restores `g` into a fresh memfd and returns its bytes (the image's size). */
async function restored(t: Test, store: SnapshotStore, g: Generation): Promise<Buffer> {
  const fd = memoryFile(t, 0);
  await restoreImage(g, fd, 0, store);
  return contents(fd, g.manifest.imageSize);
}

/** Every kept generation's chain resolves and each of its files exists. */
async function checkRetention(t: Test, store: SnapshotStore): Promise<void> {
  for (const g of await store.list()) {
    if (!g.ok) continue;
    const chain = await store.chainOf(g);
    for (const link of chain) for (const f of store.filesOf(link)) if (!existsSync(f.path)) t.fail(`generation ${g.sequence} needs ${f.path}, which retention deleted`);
  }
}

type Step =
  | { kind: 'tail'; at: number; length: number; byte: number }
  | { kind: 'commit'; count: number }
  | { kind: 'capture' }
  | { kind: 'restart'; maxChain: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('tail' as const), at: fc.nat(SIZE - 1), length: fc.integer({ min: 1, max: 12000 }), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('commit' as const), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('capture' as const) }),
  fc.record({ kind: fc.constant('restart' as const), maxChain: fc.nat(4) }),
);

t.test('property: every generation restores to the image captured, and retention keeps every chain whole', async (t) => {
  let run = 0;
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), fc.integer({ min: 2, max: 4 }), async (steps, keep) => {
    const dir = scratchDir(t, `prop-${run++}`);
    let store = await SnapshotStore.open(dir, { keep, chain: { maxChain: 3 } });
    let { fd, state } = liveFile(t, SIZE, 32, 32 * 1024);
    const expected = new Map<number, Buffer>();
    try {
      for (const s of steps) {
        if (s.kind === 'tail') {
          const end = Math.min(s.at + s.length, state.tail.length);
          if (s.at < state.tail.length) state.tail.fill(s.byte, s.at, end);
        } else if (s.kind === 'commit') {
          commitRecords(state, s.count);
        } else if (s.kind === 'capture') {
          if (state.records().length === 0) continue;
          const { generation } = await capture(fd, store, 'interval');
          // Nothing writes during the capture: the image is the live file, byte for byte.
          expected.set(generation.sequence, contents(fd));
        } else {
          // The host restarts: a new store object, the newest generation restored into a new file.
          await store.close();
          store = await SnapshotStore.open(dir, { keep, chain: { maxChain: s.maxChain } });
          const { generation } = await store.newestVerified();
          if (generation === null) continue;
          // The next child runs on a new file restored from it.
          const fresh = memoryFile(t, 0);
          await restoreImage(generation, fresh, SIZE, store);
          if (!contents(fresh).equals(expected.get(generation.sequence)!.subarray(0, SIZE)) && contents(fresh).length === SIZE) {
            // durable_offset and snapshot_seq are published into the restored header: compare past it.
            t.ok(contents(fresh).subarray(4096).equals(expected.get(generation.sequence)!.subarray(4096)), 'a restart restores the newest image');
          }
          state.close();
          fd = fresh;
          state = attach({ fd, slots: 32, ringSize: 32 * 1024 });
        }
        await checkRetention(t, store);
      }
      for (const g of await store.list()) {
        if (!g.ok) continue;
        t.same(await store.verify(g), { ok: true }, `generation ${g.sequence} verifies`);
        const image = await restored(t, store, g);
        if (!image.equals(expected.get(g.sequence)!)) {
          t.fail(`generation ${g.sequence} (${g.manifest.kind}) restores to another image`);
          return false;
        }
      }
      return true;
    } finally {
      await store.close();
    }
  }), { numRuns: 25 });
});

/** Generations 1 (full), 2 and 3 (deltas) of a file whose block at `STILL` never changes. */
const STILL = 200 * 1024;
async function chainOfThree(t: Test): Promise<{ dir: string; gens: Generation[] }> {
  const dir = scratchDir(t, 'chain');
  const store = await SnapshotStore.open(dir, { keep: 5 });
  const { fd, state } = liveFile(t, SIZE, 32, 32 * 1024);
  const tailBase = SIZE - state.tail.length;
  state.tail.fill(7, STILL - tailBase, STILL + 4096 - tailBase);
  const gens: Generation[] = [];
  for (let i = 0; i < 3; i++) {
    commitRecords(state, 10, `gen ${i}`);
    state.tail.fill(i + 1, 0, 100);
    gens.push((await capture(fd, store, 'interval')).generation);
  }
  await store.close();
  t.same(gens.map((g) => g.manifest.kind), ['full', 'delta', 'delta']);
  t.same(gens.map((g) => g.manifest.parent), [null, 1, 2]);
  return { dir, gens };
}

t.test('a damaged link (truncated, bit flip, missing) is found by verify, and the start falls back past it', async (t) => {
  const { dir, gens } = await chainOfThree(t);
  const damages: Array<[string, (path: string) => void]> = [
    ['truncated', (p) => truncateSync(p, Math.floor(readFileSync(p).length / 2))],
    ['bit flip', (p) => {
      const b = readFileSync(p);
      // In a full image: the block that no delta replaces; in a delta: its stored bytes.
      const at = p.endsWith('.img') ? STILL + 10 : 4096 + 10;
      b[at] = b[at]! ^ 1;
      writeFileSync(p, b);
    }],
    ['missing', (p) => unlinkSync(p)],
  ];
  for (const [damaged, index] of [[gens[0]!, 0], [gens[1]!, 1], [gens[2]!, 2]] as const) {
    for (const [name, damage] of damages) {
      const copy = scratchDir(t, 'damaged');
      cpSync(dir, copy, { recursive: true });
      const store = await SnapshotStore.open(copy, { readOnly: true });
      const victim = await store.get(damaged.sequence);
      damage(victim.imagePath);
      const verdicts = new Map<number, boolean>();
      for await (const { listed, verdict } of store.verifyAll()) verdicts.set(listed.sequence, verdict.ok);
      // Every generation whose chain holds the damaged file fails; the others verify.
      for (const g of gens) t.equal(verdicts.get(g.sequence), g.sequence < damaged.sequence, `${name} generation ${damaged.sequence}: generation ${g.sequence}`);
      const newest = await store.newestVerified();
      t.equal(newest.generation?.sequence ?? null, index === 0 ? null : gens[index - 1]!.sequence, `${name} ${index}: falls back to the newest intact chain`);
      t.match(newest.skipped[0]?.reason ?? '', /gen-0000000000000003|depends on|chain/, 'says which link and why');
      await store.close();
    }
  }
});

t.test('a delta whose reserved header bytes are not zeros is damaged: verify and a restore through its chain say so in the same words', async (t) => {
  const { dir, gens } = await chainOfThree(t);
  const cases: Array<[number, string]> = [
    // The last byte of the index offset: a header field, not reserved.
    [47, 'its header disagrees with its manifest'],
    [48, 'byte 48 of its header page is 0x5a where the format reserves zeros (bytes 48..4096): the header changed after it was written'],
    [4095, 'byte 4095 of its header page is 0x5a where the format reserves zeros (bytes 48..4096): the header changed after it was written'],
  ];
  for (const [at, problem] of cases) {
    const copy = scratchDir(t, `reserved-${at}`);
    cpSync(dir, copy, { recursive: true });
    const store = await SnapshotStore.open(copy, { readOnly: true });
    const link = await store.get(gens[1]!.sequence);
    const bytes = readFileSync(link.imagePath);
    bytes[at] = 0x5a;
    writeFileSync(link.imagePath, bytes);
    t.same(await store.verify(link), { ok: false, reason: `gen-0000000000000002.delta is damaged: ${problem}` }, `byte ${at}: the delta itself`);
    const dependent = `gen-0000000000000002.delta (generation 2, which it depends on) is damaged: ${problem}`;
    const newest = await store.get(gens[2]!.sequence);
    t.same(await store.verify(newest), { ok: false, reason: dependent }, `byte ${at}: the delta on it`);
    // A restore reads the header without the file checksums: the check is the header's own.
    await t.rejects(restoreImage(newest, memoryFile(t, 0), 0, store), { code: 'CORRUPT', reason: dependent }, `byte ${at}: a restore refuses it`);
    const start = await store.newestVerified();
    t.equal(start.generation?.sequence, gens[0]!.sequence, `byte ${at}: the start falls back to the full generation`);
    await store.close();
  }
});

t.test('a directory written by format 1 (full images, 1 MiB checksum) keeps working; the next captures start a chain', async (t) => {
  const dir = scratchDir(t, 'v1');
  const { fd, state } = liveFile(t, SIZE, 32, 32 * 1024);
  commitRecords(state, 10);
  // What the previous version wrote: the image, and a format-1 manifest.
  let store = await SnapshotStore.open(dir, { chain: { maxChain: 0 } });
  const { generation } = await capture(fd, store, 'interval');
  await store.close();
  const m = JSON.parse(readFileSync(generation.manifestPath, 'utf8')) as Record<string, unknown>;
  const ifd = (await import('node:fs')).openSync(generation.imagePath, 'r');
  const value = await checksumOfFile(ifd, generation.manifest.imageSize);
  const v1 = {
    format: 1, sequence: m.sequence, time: m.time, reason: m.reason, imageSize: m.imageSize,
    checksum: { algorithm: CHECKSUM_ALGORITHM, value }, configured: m.configured, records: m.records, latest: m.latest, writeOffset: m.writeOffset,
  };
  writeFileSync(generation.manifestPath, `${JSON.stringify(v1, null, 2)}\n`);
  const image = contents(fd);

  store = await SnapshotStore.open(dir);
  t.teardown(() => store.close());
  const found = await store.newestVerified();
  t.equal(found.generation?.manifest.format, 1);
  t.equal(found.generation?.manifest.kind, 'full');
  t.ok((await restored(t, store, found.generation!)).equals(image), 'restores byte for byte');
  commitRecords(state, 5);
  const next = await capture(fd, store, 'interval');
  t.equal(next.generation.manifest.kind, 'full', 'a format-1 generation is no parent: the first new one is full');
  commitRecords(state, 5);
  const delta = await capture(fd, store, 'interval');
  t.equal(delta.generation.manifest.kind, 'delta');
  t.ok((await restored(t, store, delta.generation)).equals(contents(fd)));
  t.equal(join(dir), dir);
});

t.test('the chain limits as a user reads them: 0 means no deltas; a bound is reached, not passed', async (t) => {
  let runs = 0;
  const write = async (chain: { maxChain?: number; maxChainRatio?: number }, captures: number): Promise<Generation[]> => {
    const store = await SnapshotStore.open(scratchDir(t, `limits-${runs++}`), { keep: captures + 1, chain });
    const { fd, state } = liveFile(t, SIZE, 32, 32 * 1024);
    const out: Generation[] = [];
    try {
      for (let i = 0; i < captures; i++) {
        // The same change each time: every delta has the same size.
        commitRecords(state, 3, 'the same');
        state.tail.fill(i + 1, 0, 100);
        out.push((await capture(fd, store, 'interval')).generation);
      }
    } finally {
      await store.close();
    }
    return out;
  };
  const kinds = async (chain: { maxChain?: number; maxChainRatio?: number }, captures: number): Promise<string[]> =>
    (await write(chain, captures)).map((g) => g.manifest.kind);
  t.same(await kinds({ maxChainRatio: 0 }, 4), ['full', 'full', 'full', 'full'], 'maxChainRatio 0: every generation full');
  t.same(await kinds({ maxChain: 0 }, 3), ['full', 'full', 'full'], 'maxChain 0: every generation full');
  t.same(await kinds({ maxChain: 1 }, 5), ['full', 'delta', 'full', 'delta', 'full'], 'maxChain 1: one delta between full ones');
  const one = (await write({}, 2))[1]!.manifest.chain.bytes;
  t.ok(one > 0, 'a delta file has bytes');
  t.same(await kinds({ maxChainRatio: one / SIZE }, 4), ['full', 'delta', 'full', 'delta'], 'deltas holding exactly the ratio: the next is full');
  t.same(await kinds({ maxChainRatio: (one + 1) / SIZE }, 4), ['full', 'delta', 'delta', 'full'], 'just under it: one more delta');
});
