// DoubleBuffer against what a snapshot really holds (docs/FORMAT.md,
// sections 6 and 8): the capture proves records, not tail bytes, so after a
// host crash the half the restored latest record names may have been
// rewritten while it was copied. The reader must find the newest half whose
// bytes are intact, and the writer must never overwrite that one.
import t, { type Test } from 'tap';
import { readSync, writeSync } from 'node:fs';
import { attach, DoubleBuffer, type SharedState } from '../../src/client/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { capture, restoreImage } from '../../src/live/index.js';
import { memoryFile, scratchDir } from '../store/helpers.js';

const MiB = 1 << 20;
const SIZE = 4 * MiB;
const CAPACITY = 4096;
const HEADER = 48;
const SCENE_REGION = 8192;

/** Version v's bytes: distinct per version, 100 to 999 bytes. */
function content(v: number): Uint8Array {
  const out = new Uint8Array(100 + (v % 900));
  for (let k = 0; k < out.length; k++) out[k] = (v * 31 + k * 7) & 0xff;
  return out;
}

/** A tail offset whose file offset is the first 1 MiB boundary after the rings: copied after the capture's first tail step. */
function regionPastFirstStep(state: SharedState): number {
  const base = state.layout.tailBase;
  return Math.ceil((base + 1) / MiB) * MiB - base;
}

/** Simulates a writer in the middle of a version: junk over part of half `half`'s bytes. */
function tear(state: SharedState, region: number, half: number): void {
  state.tailWindow(region + half * CAPACITY + HEADER + 40, 50).fill(0xa5);
}

/** Copies file bytes [start, end) of `from` into `to` (the part of an image a capture read at another moment). */
function copyRange(from: number, to: number, start: number, end: number): void {
  const buf = Buffer.alloc(end - start);
  readSync(from, buf, 0, buf.length, start);
  writeSync(to, buf, 0, buf.length, start);
}

t.test('a capture that copies the tail while the writer moves on: the restored reader finds the intact half', async (t) => {
  const fd = memoryFile(t, SIZE, true);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  const region = regionPastFirstStep(state);
  const buffer = new DoubleBuffer(state, CAPACITY, region);
  let committed = 0n;
  for (let v = 1; v <= 3; v++) committed = buffer.write(content(v)); // version 3 in half 0
  const store = await SnapshotStore.open(scratchDir(t, 'dbuf'), { keep: 3, chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  let acted = false;
  const result = await capture(fd, store, 'interval', {
    // After the scans, before the region's bytes are read: the writer
    // commits version 4 (half 1) and starts version 5 over half 0.
    throttle: ({ phase }) => {
      if (phase !== 'tail' || acted) return;
      acted = true;
      buffer.write(content(4));
      tear(state, region, 0);
    },
  });
  t.ok(acted, 'the writer moved on during the tail copy');

  const restored = memoryFile(t, SIZE);
  await restoreImage(result.generation, restored, 0);
  const after = attach({ fd: restored, env: {} });
  t.teardown(() => after.close());
  t.equal(after.latestRecord()?.offset, committed, 'the restored latest record is version 3\'s: version 4 was committed after the pre-scan');
  const got = new DoubleBuffer(after, CAPACITY, region).read();
  t.same(got && { version: got.version, recovered: got.recovered, data: [...got.data] }, { version: 4n, recovered: true, data: [...content(4)] },
    'version 4, complete in the other half, not the torn half of version 3');
});

/**
 * A file whose double buffer holds versions 1 and 2 (half 0, half 1), an
 * exact copy of it (what a capture's scans and rings saw), and the writer
 * moving on in the original; `compose` then copies halves of the original
 * into the copy as a capture that read them later would have.
 */
function scene(t: Test, after: (buffer: DoubleBuffer, state: SharedState) => void, halvesFromLater: number[]): { fd: number; region: number } {
  const size = MiB;
  const live = memoryFile(t, size);
  const state = attach({ fd: live, env: {} });
  t.teardown(() => state.close());
  const region = SCENE_REGION;
  const buffer = new DoubleBuffer(state, CAPACITY, region);
  buffer.write(content(1));
  buffer.write(content(2));
  const image = memoryFile(t, size);
  copyRange(live, image, 0, size);
  after(buffer, state);
  for (const half of halvesFromLater) {
    const start = state.layout.tailBase + region + half * CAPACITY;
    copyRange(live, image, start, start + CAPACITY);
  }
  return { fd: image, region };
}

function readIn(t: Test, fd: number, region: number): { state: SharedState; buffer: DoubleBuffer } {
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  return { state, buffer: new DoubleBuffer(state, CAPACITY, region) };
}

t.test('the named half torn, the other copied before the writer reached it: the previous version', async (t) => {
  // Version 3 went to half 0 (copied before), version 4 was under way in half 1.
  const { fd, region } = scene(t, (b, s) => {
    b.write(content(3));
    tear(s, SCENE_REGION, 1);
  }, [1]);
  const { buffer } = readIn(t, fd, region);
  const got = buffer.read();
  t.same(got && { version: got.version, recovered: got.recovered, data: [...got.data] }, { version: 1n, recovered: true, data: [...content(1)] });

  // The next version goes over the torn half, never over version 1, the only intact one.
  buffer.write(content(7));
  const next = buffer.read();
  t.same(next && { version: next.version, recovered: next.recovered }, { version: 3n, recovered: false }, 'numbered after the record\'s version 2');
  tear(buffer.state, region, 1);
  const back = buffer.read();
  t.same(back && { version: back.version, data: [...back.data] }, { version: 1n, data: [...content(1)] }, 'version 1 survived the write that followed the fallback');
});

t.test('the named half intact, a newer version complete in the other but never committed: the record decides', async (t) => {
  // As after a child crash between a version's bytes and its record.
  const { fd, region } = scene(t, (b) => b.write(content(3)), [0]);
  const got = readIn(t, fd, region).buffer.read();
  t.same(got && { version: got.version, recovered: got.recovered, data: [...got.data] }, { version: 2n, recovered: false, data: [...content(2)] });
});

t.test('both halves torn: one line, and the next write starts over', async (t) => {
  const { fd, region } = scene(t, (b, s) => {
    b.write(content(3));
    tear(s, SCENE_REGION, 0);
    tear(s, SCENE_REGION, 1);
  }, [0, 1]);
  const { buffer } = readIn(t, fd, region);
  t.throws(() => buffer.read(), {
    name: 'FormatError',
    code: 'BAD_DOUBLE_BUFFER',
    message: /^neither half of the double buffer at tail offset 8192 holds an intact version: the latest record names version 2 in half 1 \(a snapshot copied both halves while they were rewritten\)$/,
  });
  buffer.write(content(9));
  const got = buffer.read();
  t.same(got && { version: got.version, recovered: got.recovered }, { version: 3n, recovered: false });
});

t.test('format 1 (the record holds the checksum): read, continued in format 2, refused with one line when torn', async (t) => {
  const fd = memoryFile(t, MiB);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  const data = content(5);
  state.tail.set(data, 8192 + CAPACITY); // half 1
  const record = new Uint8Array(32);
  const dv = new DataView(record.buffer);
  record.set(new TextEncoder().encode('SHMDBUF1'));
  dv.setBigUint64(8, 5n, true);
  dv.setBigUint64(16, BigInt(data.length), true);
  dv.setUint32(24, 1, true);
  const { crc32 } = await import('node:zlib');
  dv.setUint32(28, crc32(data), true);
  state.commit(record);
  const buffer = new DoubleBuffer(state, CAPACITY, 8192);
  const got = buffer.read();
  t.same(got && { version: got.version, recovered: got.recovered, data: [...got.data] }, { version: 5n, recovered: false, data: [...data] });
  buffer.write(content(6));
  t.same([...state.tail.subarray(8192 + CAPACITY, 8192 + CAPACITY + data.length)], [...data], 'the format-1 version was not overwritten');
  t.equal(buffer.read()?.version, 6n);

  state.commit(record);
  state.tail[8192 + CAPACITY] ^= 1;
  t.throws(() => buffer.read(), { code: 'BAD_DOUBLE_BUFFER', message: /^version 5 of the double buffer \(format 1, written by an older client\) does not match its checksum/ });
});

t.test('records the reader cannot use are refused with one line, by read() and write()', async (t) => {
  const fd = memoryFile(t, MiB);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  const buffer = new DoubleBuffer(state, CAPACITY, 8192);
  buffer.write(content(1));
  const other = new DoubleBuffer(state, 2048, 8192);
  for (const f of [() => other.read(), () => other.write(content(2))]) {
    t.throws(f, { code: 'BAD_DOUBLE_BUFFER', message: 'the latest record belongs to a double buffer of 2 x 4096 bytes at tail offset 8192, not 2 x 2048 at 8192: open it as it was written' });
  }
  const newer = new Uint8Array(48);
  newer.set(new TextEncoder().encode('SHMDBUF3'));
  state.commit(newer);
  for (const f of [() => buffer.read(), () => buffer.write(content(2))]) {
    t.throws(f, { code: 'BAD_DOUBLE_BUFFER', message: 'the latest record is a double-buffer record of format 3, which this client does not read: upgrade the shm-host client' });
  }
  state.commit(new Uint8Array([1, 2, 3]));
  t.equal(buffer.read(), null, 'a record of the program\'s own is not one of ours');
  t.throws(() => buffer.write(new Uint8Array(CAPACITY - HEADER + 1)), { name: 'RangeError' });
  t.equal(buffer.maxVersionSize, CAPACITY - HEADER);
  t.throws(() => new DoubleBuffer(state, HEADER, 0), { name: 'RangeError', message: /48-byte header/ });
});

t.test('a new series never falls back to a version of an earlier one', async (t) => {
  const fd = memoryFile(t, MiB);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  const buffer = new DoubleBuffer(state, CAPACITY, SCENE_REGION);
  for (let v = 1; v <= 4; v++) buffer.write(content(v)); // version 4 in half 1
  state.commit(new Uint8Array([7])); // the program's own record: the series ends
  const fresh = new DoubleBuffer(state, CAPACITY, SCENE_REGION);
  fresh.write(content(100));
  t.equal(fresh.read()?.version, 1n, 'a new series starts at version 1, in half 0');
  tear(state, SCENE_REGION, 0);
  t.throws(() => fresh.read(), { code: 'BAD_DOUBLE_BUFFER', message: /^neither half/ }, 'version 4 of the old series is not taken for a version of this one');
});
