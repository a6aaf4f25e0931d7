// Capturing a live shared file: what an image holds, what the live header
// learns, files that were never configured, hostile layouts, files a child
// grew, sparse files, and an event loop that stays free during a big copy.
import t, { type Test } from 'tap';
import { closeSync, fstatSync, ftruncateSync, readdirSync, statSync, writeSync } from 'node:fs';
import {
  DATA_MASK_AT, ENTRY_MASK_AT, MAGIC_AT, readExtension, readLayout, slotAt, validSlots, wordsOf, writeExtension,
} from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { CaptureError, capture } from '../../src/live/index.js';
import { commitRecords, liveFile, memoryFile, readBytes, scratchDir } from '../store/helpers.js';

async function openStore(t: Test): Promise<{ dir: string; store: SnapshotStore }> {
  const dir = scratchDir(t, 'capture');
  const store = await SnapshotStore.open(dir, { keep: 10 });
  t.teardown(() => store.close());
  return { dir, store };
}

/** Writes one 8-byte word of the live file, as a buggy or hostile child would. */
function poke(fd: number, at: number, value: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  writeSync(fd, b, 0, 8, at);
}

for (const sealed of [true, false]) t.test(`an idle writer: every record is kept, byte for byte, and the child learns it is durable (${sealed ? 'sealed file: copied from its mapping' : 'unsealed file: copied through a buffer'})`, async (t) => {
  const { store } = await openStore(t);
  const { fd, state } = liveFile(t, 512 * 1024, 64, 64 * 1024, sealed);
  commitRecords(state, 300); // wraps the ring and the slots several times
  state.tail.set(new TextEncoder().encode('application state in the tail'), 1000);
  const result = await capture(fd, store, 'request');
  const live = state.records();
  t.equal(result.records, live.length);
  t.equal(result.starvedRetries, 0);
  t.equal(result.writerActive, false);
  const m = result.generation.manifest;
  t.equal(m.records, live.length);
  t.equal(m.reason, 'request');
  t.equal(m.configured, true);
  t.equal(m.imageSize, 512 * 1024);
  t.equal(m.writeOffset, state.writeOffset.toString());
  const last = live[live.length - 1]!;
  t.same(m.latest, { offset: last.offset.toString(), length: last.data.length });
  t.same(await store.verify(result.generation), { ok: true });

  const image = readBytes(result.generation.imagePath);
  const { layout } = readLayout(image);
  const kept = validSlots(image, layout).sort((a, b) => (a.offset < b.offset ? -1 : 1));
  t.same(kept.map((s) => s.offset), live.map((r) => r.offset), 'the same records');
  const liveBytes = new Uint8Array(fstatSync(fd).size);
  const mapping = Mapping.map(fd, fstatSync(fd).size);
  liveBytes.set(mapping.bytes);
  mapping.close();
  t.ok(Buffer.compare(image.subarray(layout.dataBase), liveBytes.subarray(layout.dataBase)) === 0, 'data ring and tail byte for byte');

  const end = last.offset + BigInt(last.data.length);
  t.same(result.published, { durableOffset: end, snapshotSeq: result.generation.sequence });
  t.equal(state.durableOffset(), end, 'the live header says so');
  t.equal(state.snapshotSeq(), BigInt(result.generation.sequence));
});

t.test('durable_offset never moves backwards', async (t) => {
  const { store } = await openStore(t);
  const { fd, state } = liveFile(t);
  commitRecords(state, 5);
  const mapping = Mapping.map(fd, 4096, { writable: true });
  t.teardown(() => mapping.close());
  writeExtension(mapping.bytes, { durableOffset: 1n << 40n, snapshotSeq: 99n });
  const result = await capture(fd, store, 'interval');
  t.equal(result.published, null);
  t.same(readExtension(mapping.bytes), { durableOffset: 1n << 40n, snapshotSeq: 99n });
});

t.test('a file no writer configured: refused live, captured raw post-mortem', async (t) => {
  const { dir, store } = await openStore(t);
  const fd = memoryFile(t, 64 * 1024);
  writeSync(fd, Buffer.alloc(5000, 0x11), 0, 5000, 8); // bytes, but magic stays zero
  const err = await capture(fd, store, 'interval').then(() => null, (e: unknown) => e);
  t.ok(err instanceof CaptureError);
  t.equal((err as CaptureError).kind, 'unconfigured');
  t.same(readdirSync(dir).sort(), ['lock'], 'nothing stored, nothing left behind');

  for (const reason of ['post-mortem', 'shutdown'] as const) {
    const result = await capture(fd, store, reason);
    const m = result.generation.manifest;
    t.equal(m.configured, false, reason);
    t.equal(m.records, 0);
    t.equal(m.latest, null);
    t.equal(result.published, null);
    t.same(await store.verify(result.generation), { ok: true });
    const image = readBytes(result.generation.imagePath);
    t.equal(image.length, 64 * 1024);
    t.ok(image.subarray(8, 5008).every((b) => b === 0x11) && image.subarray(5008).every((b) => b === 0), 'byte for byte');
  }
  const explicit = await capture(fd, store, 'request', { postMortem: true });
  t.equal(explicit.generation.manifest.configured, false, 'postMortem may be asked for any reason');
});

const hostile: Array<[string, (fd: number, at: ReturnType<typeof readLayout>['layout']) => void, RegExp]> = [
  ['an entry mask that is not 2^k-1', (fd) => poke(fd, ENTRY_MASK_AT, 6n), /entry_mask 0x6 is not a power of two minus one/],
  ['a data ring larger than the file', (fd) => poke(fd, DATA_MASK_AT, (1n << 32n) - 1n), /need \d+ bytes, but the file has 262144/],
  ['a foreign magic', (fd) => poke(fd, MAGIC_AT, 0xdeadbeefn), /not a shm-host file: magic is 0xdeadbeef/],
  ['a record longer than the ring', (fd, layout) => poke(fd, slotAt(layout, 2) + 8, 1n << 20n), /slot 2 holds a 1048576-byte record/],
  ['overlapping records', (fd, layout) => {
    const live = Mapping.map(fd, layout.fileSize);
    const first = wordsOf(live.bytes).load(slotAt(layout, 0));
    live.close();
    poke(fd, slotAt(layout, 1), first + 1n);
  }, /overlap/],
];

for (const [name, damage, reason] of hostile) {
  t.test(`a child that wrote ${name}: invalid-layout, nothing stored`, async (t) => {
    const { dir, store } = await openStore(t);
    const { fd, state } = liveFile(t);
    commitRecords(state, 10);
    const before = await capture(fd, store, 'interval');
    damage(fd, state.layout);
    for (const postMortem of [false, true]) {
      const err = await capture(fd, store, 'interval', { postMortem }).then(() => null, (e: unknown) => e);
      t.ok(err instanceof CaptureError, `a CaptureError (postMortem ${postMortem})`);
      t.equal((err as CaptureError).kind, 'invalid-layout');
      t.match((err as Error).message, /^child wrote an invalid layout: /);
      t.match((err as Error).message, reason);
      t.notMatch((err as Error).message, /invalid layout: invalid layout/, 'said once');
    }
    t.same((await store.list()).map((g) => g.sequence), [before.generation.sequence], 'the previous generation stays the newest');
    t.notOk(readdirSync(dir).some((n) => n.startsWith('.tmp-')), 'no temporary file left');
  });
}

t.test('a file smaller than a header page is an invalid layout', async (t) => {
  const { store } = await openStore(t);
  const fd = memoryFile(t, 100);
  const err = await capture(fd, store, 'post-mortem').then(() => null, (e: unknown) => e);
  t.match(err, { kind: 'invalid-layout', message: /^child wrote an invalid layout: the shared file has 100 bytes, less than the 4096-byte header page/ });
});

t.test('a file the child grew is captured at its new size', async (t) => {
  const { store } = await openStore(t);
  const { fd, state } = liveFile(t, 256 * 1024);
  commitRecords(state, 10);
  ftruncateSync(fd, 3 << 20);
  writeSync(fd, Buffer.from('written at the end of the grown tail'), 0, 36, (3 << 20) - 36);
  const result = await capture(fd, store, 'interval');
  t.equal(result.generation.manifest.imageSize, 3 << 20);
  const image = readBytes(result.generation.imagePath);
  t.equal(Buffer.from(image.subarray(-36)).toString(), 'written at the end of the grown tail');
  t.same(await store.verify(result.generation), { ok: true });
});

t.test('a 1 GiB file holding 10 MiB costs about 10 MiB and leaves a sparse image', async (t) => {
  const { store } = await openStore(t);
  const { fd, state } = liveFile(t, 1 << 30, 1024, 1 << 20);
  commitRecords(state, 1000);
  const tenMiB = Buffer.alloc(10 << 20, 0x3c);
  writeSync(fd, tenMiB, 0, tenMiB.length, 512 << 20);
  const result = await capture(fd, store, 'request');
  t.ok(result.bytesCopied >= 10 << 20 && result.bytesCopied < 12 << 20, `${result.bytesCopied} bytes copied`);
  const st = statSync(result.generation.imagePath);
  t.equal(st.size, 1 << 30);
  t.ok(st.blocks * 512 < 16 << 20, `the image occupies ${st.blocks * 512} bytes on disk`);
  t.same(await store.verify(result.generation), { ok: true });
});

t.test('a long capture leaves the event loop free: a signal is handled before it ends', async (t) => {
  const { store } = await openStore(t);
  const { fd, state } = liveFile(t, 192 << 20, 1024, 1 << 20);
  commitRecords(state, 100);
  const block = Buffer.alloc(16 << 20, 0x77);
  for (let p = 2 << 20; p < 192 << 20; p += block.length) writeSync(fd, block, 0, Math.min(block.length, (192 << 20) - p), p);
  let handledAt = 0;
  let worstGap = 0;
  let lastTick = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - lastTick);
    lastTick = now;
  }, 5);
  const onSignal = (): void => { handledAt = performance.now(); };
  process.on('SIGUSR2', onSignal);
  const timer = setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 10);
  const result = await capture(fd, store, 'request');
  const endedAt = performance.now();
  clearInterval(ticker);
  clearTimeout(timer);
  process.off('SIGUSR2', onSignal);
  t.ok(result.bytesCopied >= 190 << 20);
  t.ok(handledAt > 0 && handledAt < endedAt, 'the signal was handled while the capture ran');
  t.comment(`capture of 192 MiB took ${Math.round(result.durationMs)} ms; the event loop's longest pause was ${Math.round(worstGap)} ms`);
});

t.test('live files must stay open: a closed descriptor is a plain error, not a stored image', async (t) => {
  const { dir, store } = await openStore(t);
  const fd = memfdCreate('closed');
  closeSync(fd);
  await t.rejects(capture(fd, store, 'interval'), { code: 'EBADF' });
  t.same(readdirSync(dir), ['lock']);
});
