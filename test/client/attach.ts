// attach() in this process, on real memfds passed with the `fd` option:
// configuring, resuming, options, and each error a user can cause, with its
// code and a message naming the problem and the fix.
import t, { type Test } from 'tap';
import { closeSync, fstatSync, ftruncateSync, openSync } from 'node:fs';
import {
  MAGIC, PAGE_SIZE, minimumFileSize, planLayout, readLayout, slotAt, validSlots, writeExtension, writeHeader,
} from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { AttachError, attach, defaultConfig, findSharedFd, unsetListenEnvironment } from '../../src/client/index.js';

/** A fresh memfd of `size` bytes, closed at the end of the test. */
function memfd(t: Test, size: number): number {
  const fd = memfdCreate('attach-test');
  ftruncateSync(fd, size);
  t.teardown(() => closeSync(fd));
  return fd;
}

/** Runs `fn` on a writable mapping of `fd` (to craft a file as a foreign writer would). */
function craft(fd: number, fn: (bytes: Uint8Array, dv: DataView) => void): void {
  const m = Mapping.map(fd, fstatSync(fd).size, { writable: true });
  try {
    fn(m.bytes, new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
  } finally {
    m.close();
  }
}

function attachError(t: Test, fn: () => unknown, code: string, message: RegExp): AttachError | null {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof AttachError, `throws an AttachError (${code})`);
  t.match(caught, { code, message });
  if (caught instanceof Error) t.notMatch(caught.message, /\n/, 'one line');
  return caught instanceof AttachError ? caught : null;
}

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

t.test('attach configures an unconfigured file with defaults that fit it, magic last', async (t) => {
  const size = 1 << 20;
  const fd = memfd(t, size);
  const state = attach({ fd, env: {} });
  t.same(defaultConfig(size), { slots: 2048, ringSize: 131072 }, 'a ring of 1/8 of the file, one slot per 64 ring bytes');
  t.equal(state.layout.slots, 2048);
  t.equal(state.layout.ringSize, 131072);
  t.equal(state.layout.tailBase, PAGE_SIZE + 2048 * 16 + 131072);
  t.equal(state.tail.length, size - state.layout.tailBase);
  t.equal(state.maxRecordSize, 131071);
  t.equal(state.writeOffset, 0n);
  t.equal(state.latest(), null);
  t.equal(state.latestRecord(), null);
  t.same(state.records(), []);
  t.equal(state.durableOffset(), 0n);
  t.equal(state.snapshotSeq(), 0n);
  state.close();
  craft(fd, (b, dv) => {
    t.equal(dv.getBigUint64(0, true), MAGIC, 'the file is configured');
    t.same(readLayout(b).layout, state.layout);
  });
});

t.test('defaultConfig stays between 4 KiB and 4 MiB of ring and at most 4096 slots', async (t) => {
  t.same(defaultConfig(3 * PAGE_SIZE), { slots: 64, ringSize: 4096 });
  t.same(defaultConfig(1 << 30), { slots: 4096, ringSize: 4 << 20 });
  t.same(defaultConfig(1 << 20, 16, 1 << 12), { slots: 16, ringSize: 4096 }, 'options win');
  // Every default must fit the file it was made for.
  for (let size = 3 * PAGE_SIZE; size < 1 << 26; size = Math.floor(size * 1.7)) {
    const { slots, ringSize } = defaultConfig(size);
    t.ok(minimumFileSize(slots, ringSize) <= size, `defaults fit a file of ${size} bytes`);
  }
});

t.test('options slots and ringSize configure; an already configured file keeps its own', async (t) => {
  const fd = memfd(t, 64 * PAGE_SIZE);
  const a = attach({ fd, env: {}, slots: 8, ringSize: 8192 });
  t.same([a.layout.slots, a.layout.ringSize], [8, 8192]);
  a.commit(bytes(10, 1));
  a.close();
  const b = attach({ fd, env: {}, slots: 64, ringSize: 65536 });
  t.same([b.layout.slots, b.layout.ringSize], [8, 8192], 'the file decides, not the options');
  t.same(b.latest(), bytes(10, 1));
  b.close();
});

t.test('a re-attach resumes after the latest record and keeps the valid ones', async (t) => {
  const fd = memfd(t, 16 * PAGE_SIZE);
  const a = attach({ fd, env: {}, slots: 4, ringSize: 4096 });
  const offsets = [1, 2, 3, 4, 5, 6].map((n) => a.commit(bytes(100 * n, n)));
  t.same(offsets, [0n, 100n, 300n, 600n, 1000n, 1500n]);
  a.close();
  const b = attach({ fd, env: {} });
  t.equal(b.writeOffset, 2100n);
  t.same(b.records().map((r) => r.offset), [300n, 600n, 1000n, 1500n], 'the last four: one per slot');
  t.same(b.latestRecord(), { offset: 1500n, data: bytes(600, 6) });
  t.equal(b.commit(bytes(1, 7)), 2100n);
  b.close();
});

t.test('resume drops valid records outside the run that ends at the latest one', async (t) => {
  // A foreign writer left slots 0 and 2 valid with slot 1 empty: the run
  // ending at the latest (slot 2) is slot 2 alone, slot 0 is dropped (it is
  // older, so dropping it loses nothing the protocol promised to keep).
  const size = minimumFileSize(4, 4096);
  const fd = memfd(t, size);
  craft(fd, (b, dv) => {
    const layout = planLayout(size, 4, 4096);
    writeHeader(b, layout, 300n);
    dv.setBigUint64(slotAt(layout, 0), 0n, true);
    dv.setBigUint64(slotAt(layout, 0) + 8, 100n, true);
    dv.setBigUint64(slotAt(layout, 2), 200n, true);
    dv.setBigUint64(slotAt(layout, 2) + 8, 100n, true);
  });
  const state = attach({ fd, env: {} });
  t.same(state.records().map((r) => r.offset), [200n]);
  t.equal(state.commit(bytes(5, 9)), 300n);
  t.same(state.records().map((r) => r.offset), [200n, 300n]);
  state.close();
  craft(fd, (b) => {
    const { layout } = readLayout(b);
    t.same(validSlots(b, layout).map((s) => [s.index, s.offset]), [[2, 200n], [3, 300n]], 'slot 0 was invalidated in the file');
  });
});

t.test('commit refuses empty and oversized records, naming the limit', async (t) => {
  const fd = memfd(t, 3 * PAGE_SIZE);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  t.throws(() => state.commit(new Uint8Array(0)), { name: 'RangeError', message: 'a record must hold 1 to 4095 bytes (the data ring size minus one), got 0' });
  t.throws(() => state.commit(new Uint8Array(4096)), { name: 'RangeError', message: /1 to 4095 bytes.*got 4096/ });
  t.equal(state.commit(new Uint8Array(4095)), 0n, 'ring size minus one fits');
  t.equal(state.writeOffset, 4095n);
});

t.test('durableOffset and snapshotSeq read the host words of the live file', async (t) => {
  const fd = memfd(t, 3 * PAGE_SIZE);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  state.commit(bytes(10, 1));
  craft(fd, (b) => writeExtension(b, { durableOffset: 10n, snapshotSeq: 7n }));
  t.equal(state.durableOffset(), 10n);
  t.equal(state.snapshotSeq(), 7n);
});

t.test('tail is the application bytes after the ring, shared with the file', async (t) => {
  const fd = memfd(t, 5 * PAGE_SIZE);
  const state = attach({ fd, env: {}, slots: 4, ringSize: 4096 });
  t.equal(state.tail.length, 2 * PAGE_SIZE);
  state.tail.set([1, 2, 3], 0);
  state.tail[2 * PAGE_SIZE - 1] = 9;
  state.close();
  craft(fd, (b) => {
    t.same([...b.subarray(3 * PAGE_SIZE, 3 * PAGE_SIZE + 3)], [1, 2, 3]);
    t.equal(b[5 * PAGE_SIZE - 1], 9);
  });
});

t.test('use after close throws instead of touching unmapped memory; close twice is harmless', async (t) => {
  const fd = memfd(t, 3 * PAGE_SIZE);
  const state = attach({ fd, env: {} });
  state.commit(bytes(3, 3));
  t.equal(state.closed, false);
  state.close();
  t.equal(state.closed, true);
  state.close();
  const uses: [string, () => unknown][] = [
    ['commit', () => state.commit(bytes(1, 1))],
    ['latest', () => state.latest()],
    ['latestRecord', () => state.latestRecord()],
    ['records', () => state.records()],
    ['tail', () => state.tail],
    ['writeOffset', () => state.writeOffset],
    ['durableOffset', () => state.durableOffset()],
    ['snapshotSeq', () => state.snapshotSeq()],
  ];
  for (const [name, use] of uses) t.throws(use, { message: /closed/ }, `${name} after close`);
  t.doesNotThrow(() => fstatSync(fd), 'a descriptor passed with options.fd stays open: the caller owns it');
});

t.test('standalone runs on a private memory file it closes itself', async (t) => {
  const state = attach({ standalone: true, env: {} });
  t.equal(state.layout.fileSize, 16 * 1024 * 1024);
  t.equal(state.commit(bytes(8, 8)), 0n);
  t.same(state.latest(), bytes(8, 8));
  const fd = state.fd;
  t.ok(fstatSync(fd).isFile());
  state.close();
  t.throws(() => fstatSync(fd), { code: 'EBADF' }, 'close() closed the private file');
  const small = attach({ standalone: 3 * PAGE_SIZE, env: {} });
  t.equal(small.layout.fileSize, 3 * PAGE_SIZE);
  small.close();
});

t.test('option errors are TypeError/RangeError naming the option', async (t) => {
  t.throws(() => attach({ fd: -1, env: {} }), { name: 'TypeError', message: 'options.fd must be a file descriptor number, got -1' });
  t.throws(() => attach({ fd: 1.5, env: {} }), { name: 'TypeError' });
  t.throws(() => attach({ slots: 3, env: {} }), { name: 'RangeError', message: 'options.slots must be a power of two, got 3' });
  t.throws(() => attach({ ringSize: 0, env: {} }), { name: 'RangeError', message: /options.ringSize must be a power of two/ });
  t.throws(() => attach({ standalone: 100, env: {} }), { name: 'RangeError', message: /options.standalone must be a size of at least 12288 bytes, got 100/ });
});

t.test('finding the shared file in the environment, as sd_listen_fds_with_names does', async (t) => {
  const pid = 4242;
  t.equal(findSharedFd({ LISTEN_PID: '4242', LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' }, pid), 3);
  t.equal(findSharedFd({ LISTEN_PID: '4242', LISTEN_FDS: '3', LISTEN_FDNAMES: 'a:SHM_SHARED_FD:b' }, pid), 4, 'the name picks the fd');
  const cases: [string, NodeJS.ProcessEnv, string, RegExp][] = [
    ['no LISTEN_FDS', {}, 'NO_SHARED_FILE', /no shared memory file was passed to this process \(LISTEN_FDS is not set\): start the program under the host: shm-host -- <command>/],
    ['no LISTEN_PID', { LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' }, 'NO_SHARED_FILE', /LISTEN_FDS is not set/],
    ['another pid', { LISTEN_PID: '1', LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' }, 'PID_MISMATCH', /LISTEN_PID=1 is not this process \(4242\): the shared file was meant for another process/],
    ['a pid that is no number', { LISTEN_PID: '42x', LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' }, 'PID_MISMATCH', /LISTEN_PID=42x/],
    ['zero fds', { LISTEN_PID: '4242', LISTEN_FDS: '0', LISTEN_FDNAMES: '' }, 'BAD_ENVIRONMENT', /LISTEN_FDS=0 passes no file descriptor/],
    ['garbage count', { LISTEN_PID: '4242', LISTEN_FDS: 'one', LISTEN_FDNAMES: 'SHM_SHARED_FD' }, 'BAD_ENVIRONMENT', /LISTEN_FDS=one/],
    ['wrong name', { LISTEN_PID: '4242', LISTEN_FDS: '1', LISTEN_FDNAMES: 'other' }, 'NO_SUCH_NAME', /none of the 1 passed file descriptors is named SHM_SHARED_FD \(LISTEN_FDNAMES=other\)/],
    ['no names', { LISTEN_PID: '4242', LISTEN_FDS: '1' }, 'NO_SUCH_NAME', /LISTEN_FDNAMES=\)/],
    ['name beyond the count', { LISTEN_PID: '4242', LISTEN_FDS: '1', LISTEN_FDNAMES: 'a:SHM_SHARED_FD' }, 'NO_SUCH_NAME', /none of the 1/],
  ];
  for (const [name, env, code, message] of cases) {
    t.test(name, async (t) => {
      attachError(t, () => findSharedFd(env, pid), code, message);
      // attach() reports the same error (this process's pid is never 4242's env... so use ours).
      const ours = { ...env };
      if (env.LISTEN_PID === '4242') ours.LISTEN_PID = String(process.pid);
      attachError(t, () => attach({ env: ours }), code, message.source.includes('4242') ? /is not this process/ : message);
    });
  }
});

t.test('unsetEnvironment removes the socket-activation variables', async (t) => {
  const env: NodeJS.ProcessEnv = { LISTEN_PID: '1', LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD', LISTEN_PIDFDID: '9', KEEP: 'x' };
  const fd = memfd(t, 3 * PAGE_SIZE);
  attach({ fd, env, unsetEnvironment: true }).close();
  t.same(env, { KEEP: 'x' });
  const other: NodeJS.ProcessEnv = { LISTEN_FDS: '1', OTHER: 'y' };
  unsetListenEnvironment(other);
  t.same(other, { OTHER: 'y' });
});

t.test('attach errors on the file itself: each its own one-line message', async (t) => {
  t.test('fd not open', async (t) => {
    const fd = memfdCreate('closed');
    closeSync(fd);
    attachError(t, () => attach({ fd, env: {} }), 'BAD_FILE', new RegExp(`file descriptor ${fd} is not open \\(EBADF\\): the shared file was not passed to this process; start it with shm-host -- <command>`));
  });
  t.test('fd is not a file', async (t) => {
    const fd = openSync('/dev/null', 'r+');
    t.teardown(() => closeSync(fd));
    attachError(t, () => attach({ fd, env: {} }), 'BAD_FILE', /is not a file \(it is a character device\): the shared file was not passed/);
  });
  t.test('file too small', async (t) => {
    const fd = memfd(t, 2 * PAGE_SIZE);
    // The host's setting by its name, no flag: whatever started this process spells it its own way.
    const small = attachError(t, () => attach({ fd, env: {} }), 'BAD_FILE', /has 8192 bytes, too small for a header, an entry ring and a data ring \(at least 12288\): start the host with a larger shared file size$/);
    t.match(small, { hint: 'start the host with a larger shared file size', option: 'size' });
    t.notMatch(small?.message, /--[a-z]/);
    const empty = memfd(t, 0);
    attachError(t, () => attach({ fd: empty, env: {} }), 'BAD_FILE', /has 0 bytes, too small/);
  });
  t.test('foreign magic', async (t) => {
    const fd = memfd(t, 4 * PAGE_SIZE);
    craft(fd, (_, dv) => dv.setBigUint64(0, 0x1234_5678n, true));
    const err = attachError(t, () => attach({ fd, env: {} }), 'BAD_FILE', /cannot be used: not a shm-host file: magic is 0x12345678, expected 0x96c2a6f4b68519b3/);
    t.match(err?.cause, { name: 'FormatError', code: 'BAD_MAGIC' });
    craft(fd, (b) => t.same([...b.subarray(0, 8)], [0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0], 'a foreign file is left untouched'));
  });
  t.test('hostile layout and hostile records', async (t) => {
    const fd = memfd(t, 4 * PAGE_SIZE);
    craft(fd, (_, dv) => {
      dv.setBigUint64(0, MAGIC, true);
      dv.setBigUint64(8, 6n, true);
      dv.setBigUint64(16, 4095n, true);
    });
    const bad = attachError(t, () => attach({ fd, env: {} }), 'BAD_FILE', /entry_mask 0x6 is not a power of two minus one/);
    t.match(bad?.cause, { code: 'BAD_ENTRY_MASK' });
    craft(fd, (b, dv) => {
      const layout = planLayout(b.byteLength, 4, 4096);
      writeHeader(b, layout);
      dv.setBigUint64(slotAt(layout, 0), 0n, true);
      dv.setBigUint64(slotAt(layout, 0) + 8, 50n, true);
      dv.setBigUint64(slotAt(layout, 1), 10n, true);
      dv.setBigUint64(slotAt(layout, 1) + 8, 50n, true);
    });
    const overlap = attachError(t, () => attach({ fd, env: {} }), 'BAD_FILE', /records in slots 0 and 1 overlap/);
    t.match(overlap?.cause, { code: 'BAD_RECORD_SET' });
  });
  t.test('a configuration that does not fit the file', async (t) => {
    const fd = memfd(t, 3 * PAGE_SIZE);
    attachError(t, () => attach({ fd, env: {}, ringSize: 1 << 20 }), 'BAD_FILE', /4096 slots and a 1048576-byte ring need a file of at least 1118208 bytes, but it has 12288/);
  });
  t.test('a file opened read-only', async (t) => {
    const fd = memfd(t, 3 * PAGE_SIZE);
    const ro = openSync(`/proc/self/fd/${fd}`, 'r');
    t.teardown(() => closeSync(ro));
    attachError(t, () => attach({ fd: ro, env: {} }), 'BAD_FILE', new RegExp(`cannot map the shared file on fd ${ro} read-write \\(EACCES\\)`));
  });
});
