// Captures of a file a real child writes as fast as it can: every record in
// every image is intact, the kept set is exactly the pre/post rule, the
// tail is copied after the pre-scan, and a copy slower than the writer is
// starved, retried and reported, never stored with zero records.
import t, { type Test } from 'tap';
import { readdirSync } from 'node:fs';
import { WRITE_OFFSET_AT, copyRecord, readLayout, validSlots, wordsOf, type Slot } from '../../src/format/index.js';
import { Mapping } from '../../src/sys/index.js';
import { SnapshotStore, type Generation, type Verdict } from '../../src/store/index.js';
import { CaptureError, capture, type CaptureOptions } from '../../src/live/index.js';
import { decodeRecord } from '../../fixtures/lib/record-codec.js';
import { spawnShared, waitFor, type SharedChild } from '../../fixtures/lib/shared-child.js';
import { fixture, memoryFile, readBytes, scratchDir } from '../store/helpers.js';

/** A live file of `size` bytes and a child committing into it at full speed. */
async function writerOn(t: Test, script: string, size: number, slots: number, ringSize: number): Promise<{ fd: number; writeOffset: () => bigint }> {
  const fd = memoryFile(t, size, true);
  const child: SharedChild = spawnShared(process.execPath, [fixture(script), '--slots', String(slots), '--ring-size', String(ringSize)], { fd });
  t.teardown(async () => {
    child.child.kill('SIGTERM');
    await child.exited;
  });
  const first = await child.firstLine();
  if (first === null) throw new Error(`${script} did not start: ${child.stderr}`);
  const header = Mapping.map(fd, 4096);
  t.teardown(() => header.close());
  const words = wordsOf(header.bytes);
  const writeOffset = (): bigint => words.load(WRITE_OFFSET_AT);
  await waitFor('the child commits', () => writeOffset() > 0n);
  return { fd, writeOffset };
}

async function openStore(t: Test): Promise<{ dir: string; store: SnapshotStore }> {
  const dir = scratchDir(t, 'concurrent');
  const store = await SnapshotStore.open(dir, { keep: 3, chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  return { dir, store };
}

const key = (s: Slot): string => `${s.index}:${s.offset}:${s.length}`;

/** The image's valid records, oldest first, each decoded (throws on a torn one). */
function imageRecords(g: Generation): { image: Uint8Array; slots: Slot[]; indexes: number[]; tailBase: number } {
  const image = readBytes(g.imagePath);
  const { layout } = readLayout(image);
  const slots = validSlots(image, layout).sort((a, b) => (a.offset < b.offset ? -1 : 1));
  const indexes = slots.map((s) => decodeRecord(copyRecord(image, layout, s)));
  return { image, slots, indexes, tailBase: layout.tailBase };
}

interface StoredCapture {
  generation: Generation;
  pre: Slot[];
  post: Slot[];
  contents: ReturnType<typeof imageRecords>;
  verdict: Verdict;
}

/** Captures back to back; returns the stored generations with the scans each attempt saw, and the starved count. */
async function captureLoop(fd: number, store: SnapshotStore, attempts: number): Promise<{ stored: StoredCapture[]; starved: number }> {
  const stored: StoredCapture[] = [];
  let starved = 0;
  for (let i = 0; i < attempts; i++) {
    let pre: Slot[] = [];
    let post: Slot[] = [];
    try {
      const result = await capture(fd, store, 'interval', {
        maxStarvedRetries: 0,
        onScan: (scan, slots) => { if (scan === 'pre') pre = [...slots]; else post = [...slots]; },
      });
      // Read and verify now: retention deletes old generations as new ones come.
      const verdict = await store.verify(result.generation);
      stored.push({ generation: result.generation, pre, post, contents: imageRecords(result.generation), verdict });
    } catch (err) {
      if (!(err instanceof CaptureError) || err.kind !== 'starved') throw err;
      starved += 1;
    }
  }
  return { stored, starved };
}

t.test('records fixture at full speed: intact records, exactly the pre/post rule', async (t) => {
  const { store } = await openStore(t);
  const { fd } = await writerOn(t, 'records.js', 4 << 20, 8192, 2 << 20);
  const { stored, starved } = await captureLoop(fd, store, 30);
  t.comment(`${stored.length} captures stored, ${starved} starved`);
  t.ok(stored.length > 0, 'some captures succeed against a full-speed writer');
  const problems: string[] = [];
  let zeroed = 0;
  for (const { generation, pre, post, contents, verdict } of stored) {
    const { slots, indexes } = contents;
    const g = `generation ${generation.sequence}`;
    // The checksum covers the image as stored, slots zeroed by the capture included.
    if (!verdict.ok) problems.push(`${g} does not verify: ${verdict.reason}`);
    if (slots.length < pre.length) zeroed += 1;
    const postKeys = new Set(post.map(key));
    const expected = pre.filter((s) => postKeys.has(key(s))).map(key).sort();
    const kept = slots.map(key).sort();
    if (JSON.stringify(kept) !== JSON.stringify(expected)) {
      problems.push(`${g} keeps ${kept.length} records, the scans agree on ${expected.length}`);
    }
    if (slots.length === 0) problems.push(`${g} has no record`);
    // Later offsets hold later records. (Not necessarily consecutive: a
    // record committed into a slot the moving pre-scan had already passed
    // is missing from pre, while a newer one in a later slot is not.)
    for (let i = 1; i < indexes.length; i++) {
      if (indexes[i]! <= indexes[i - 1]!) problems.push(`${g}: record ${indexes[i]} follows ${indexes[i - 1]}`);
    }
    if (generation.manifest.records !== slots.length) problems.push(`${g}: manifest counts ${generation.manifest.records}`);
  }
  t.same(problems, [], 'every image verifies and keeps exactly the records valid in both scans, all intact and in order');
  t.comment(`${zeroed} images had slots the capture zeroed`);
  const newest = (await store.newestVerified()).generation;
  t.equal(newest?.sequence, stored[stored.length - 1]!.generation.sequence, 'the newest verifies');
});

t.test('the tail is copied after the pre-scan', async (t) => {
  const { store } = await openStore(t);
  const { fd } = await writerOn(t, 'capture-tail-writer.js', 4 << 20, 8192, 2 << 20);
  const { stored, starved } = await captureLoop(fd, store, 20);
  t.comment(`${stored.length} captures stored, ${starved} starved`);
  t.ok(stored.length > 0);
  let behind = 0;
  for (const { contents } of stored) {
    const { image, indexes, tailBase } = contents;
    const tailIndex = new DataView(image.buffer, image.byteOffset).getBigUint64(tailBase, true);
    if (tailIndex < BigInt(indexes[indexes.length - 1]!)) behind += 1;
  }
  t.equal(behind, 0, 'the tail always holds what the child wrote before its latest kept record');
});

t.test('a copy slower than the writer: starvation detected, retried, reported; never an empty image', async (t) => {
  const { dir, store } = await openStore(t);
  const ring = 1 << 20;
  const { fd, writeOffset } = await writerOn(t, 'records.js', 2 << 20, 4096, ring);
  let preOffset = 0n;
  let slowAttempts = Infinity;
  let attempts = 0;
  const options: CaptureOptions = {
    maxStarvedRetries: 2,
    onScan: (scan) => {
      if (scan !== 'pre') return;
      preOffset = writeOffset();
      attempts += 1;
    },
    // Wait in the middle of the copy until the writer has gone twice round
    // the ring: every record the pre-scan saw is overwritten by then.
    throttle: async ({ phase }) => {
      if (phase === 'rings' && attempts <= slowAttempts) await waitFor('the writer laps the ring twice', () => writeOffset() > preOffset + BigInt(2 * ring));
    },
  };
  const before = (await store.list()).length;
  const err = await capture(fd, store, 'interval', options).then(() => null, (e: unknown) => e);
  t.ok(err instanceof CaptureError);
  t.equal((err as CaptureError).kind, 'starved');
  t.equal((err as CaptureError).starvedRetries, 3, 'the first attempt and 2 retries, all starved');
  t.match((err as Error).message, /^capture starved 3 times: the child overwrote every record while it was being copied; nothing was stored/);
  t.equal(attempts, 3);
  t.equal((await store.list()).length, before, 'nothing stored');
  t.notOk(readdirSync(dir).some((n) => n.startsWith('.tmp-')), 'no temporary image left');

  // Without maxStarvedRetries: the default, 15 retries (docs/FORMAT.md section 8).
  attempts = 0;
  const { maxStarvedRetries: _, ...byDefault } = options;
  const fallback = await capture(fd, store, 'interval', byDefault).then(() => null, (e: unknown) => e);
  t.equal((fallback as CaptureError).starvedRetries, 16, 'the first attempt and 15 retries, by default');
  t.equal(attempts, 16);

  attempts = 0;
  slowAttempts = 1; // only the first attempt is slow (later ones may still starve on a loaded machine)
  const result = await capture(fd, store, 'interval', { ...options, maxStarvedRetries: 20 });
  t.ok(result.starvedRetries >= 1, `starved ${result.starvedRetries} times, then stored`);
  t.equal(result.starvedRetries, attempts - 1, 'counted');
  t.ok(result.records > 0, 'the stored image has records');
  const { indexes } = imageRecords(result.generation);
  t.equal(indexes.length, result.records, 'all intact');
});

t.test('a post-mortem capture that finds the file still changing keeps only consistent records', async (t) => {
  const { store } = await openStore(t);
  const { fd, writeOffset } = await writerOn(t, 'records.js', 4 << 20, 8192, 2 << 20);
  let preOffset = 0n;
  const result = await capture(fd, store, 'post-mortem', {
    onScan: (scan) => { if (scan === 'pre') preOffset = writeOffset(); },
    throttle: async ({ phase }) => {
      if (phase === 'rings') await waitFor('the writer commits during the copy', () => writeOffset() > preOffset);
    },
  });
  t.equal(result.writerActive, true, 'reported');
  const { indexes } = imageRecords(result.generation);
  t.equal(indexes.length, result.records, 'every kept record intact');
  t.ok(result.records > 0);
});
