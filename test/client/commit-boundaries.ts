// The commit path at the edges of the stream: the 4-byte fast stores across
// 2^32, the switch to exact 64-bit arithmetic past 2^53, and the end of the
// u64 stream at 2^64, where commit() must throw a RangeError and leave the
// file as it was.
import t from 'tap';
import { closeSync, ftruncateSync } from 'node:fs';
import {
  PAGE_SIZE, U64_MAX, copyRecord, minimumFileSize, planLayout, readLayout, readSlot, sortedRecords, validSlots, writeHeader,
} from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { attach } from '../../src/client/index.js';

const SLOTS = 4;
const RING = 256;

/** A memfd configured with a 256-byte ring whose stream starts at `start`; and a read-only view of it. */
function fileAt(start: bigint): { fd: number; view: Uint8Array; done: () => void } {
  const size = minimumFileSize(SLOTS, RING) + PAGE_SIZE;
  const fd = memfdCreate('boundaries');
  ftruncateSync(fd, size);
  const setup = Mapping.map(fd, size, { writable: true });
  writeHeader(setup.bytes, planLayout(size, SLOTS, RING), start);
  setup.close();
  const observer = Mapping.map(fd, size);
  return { fd, view: observer.bytes, done: () => { observer.close(); closeSync(fd); } };
}

const record = (n: number, length = 100): Uint8Array => Uint8Array.from({ length }, (_, i) => (n * 37 + i) & 0xff);

function readBack(view: Uint8Array): { offset: bigint; data: Uint8Array }[] {
  const { layout } = readLayout(view);
  return sortedRecords(validSlots(view, layout)).map((s) => ({ offset: s.offset, data: copyRecord(view, layout, s) }));
}

for (const [name, start] of [['2^32', 2n ** 32n - 250n], ['2^53', 2n ** 53n - 250n]] as const) {
  t.test(`commits across ${name} keep exact offsets, through a re-attach`, async (t) => {
    const { fd, view, done } = fileAt(start);
    t.teardown(done);
    let state = attach({ fd, env: {} });
    const expected: bigint[] = [];
    for (let n = 0; n < 12; n++) {
      if (n === 6) {
        state.close();
        state = attach({ fd, env: {} });
        t.equal(state.writeOffset, start + 600n, 're-attach resumes at the exact offset');
      }
      const offset = state.commit(record(n));
      t.equal(offset, start + BigInt(n) * 100n, `commit ${n} returns its exact offset`);
      expected.push(offset);
      const { layout, writeOffset } = readLayout(view);
      t.equal(writeOffset, offset + 100n, `write_offset after commit ${n}`);
      const latest = sortedRecords(validSlots(view, layout)).at(-1)!;
      t.same(readSlot(view, layout, latest.index), { index: latest.index, offset, length: 100 });
    }
    // The ring (256 bytes) holds the last two 100-byte records intact.
    const back = readBack(view);
    t.same(back.map((r) => r.offset), expected.slice(-2));
    t.same(back.map((r) => [...r.data]), [[...record(10)], [...record(11)]]);
    t.same(state.records().map((r) => r.offset), expected.slice(-2));
    t.same(state.latestRecord(), { offset: expected[11], data: record(11) });
    state.close();
  });
}

t.test('the stream ends at 2^64: the last byte is usable, one more throws a RangeError', async (t) => {
  // Room for exactly three 100-byte records before 2^64 - 1.
  const start = U64_MAX - 300n;
  const { fd, view, done } = fileAt(start);
  t.teardown(done);
  const state = attach({ fd, env: {} });
  t.equal(state.commit(record(1)), start);
  t.equal(state.commit(record(2)), start + 100n);
  t.equal(state.commit(record(3, 99)), start + 200n);
  t.equal(state.writeOffset, U64_MAX - 1n);
  t.equal(state.commit(record(4, 1)), U64_MAX - 1n, 'a record may end exactly at 2^64 - 1');
  t.equal(readLayout(view).writeOffset, U64_MAX);

  const before = Buffer.from(view);
  t.throws(() => state.commit(record(5, 1)), { name: 'RangeError', message: /stream is exhausted: 1 more bytes would pass 2\^64/ });
  t.ok(Buffer.from(view).equals(before), 'a refused commit leaves the file untouched');
  t.same(state.latestRecord(), { offset: U64_MAX - 1n, data: record(4, 1) });
  const back = readBack(view);
  t.same(back.map((r) => r.offset), [start + 100n, start + 200n, U64_MAX - 1n]);
  t.same(back.map((r) => r.data.length), [100, 99, 1]);
  state.close();

  // A writer attaching to an exhausted file can read it but not write.
  const again = attach({ fd, env: {} });
  t.equal(again.writeOffset, U64_MAX);
  t.same(again.latest(), record(4, 1));
  t.throws(() => again.commit(record(6, 1)), RangeError);
  again.close();
});

t.test('a file resumed past 2^53 from a hostile write_offset still commits exactly', async (t) => {
  // write_offset far ahead of every record (say a writer that dropped its
  // records): the next commit starts there and drops the old ones.
  const { fd, view, done } = fileAt(2n ** 53n + 1000n);
  t.teardown(done);
  const state = attach({ fd, env: {} });
  state.commit(record(1));
  state.close();
  const writer = Mapping.map(fd, view.byteLength, { writable: true });
  new DataView(writer.bytes.buffer, writer.bytes.byteOffset).setBigUint64(24, 2n ** 60n + 7n, true);
  writer.close();
  const resumed = attach({ fd, env: {} });
  t.equal(resumed.writeOffset, 2n ** 60n + 7n, 'resumes after write_offset when it is further than the latest record');
  t.equal(resumed.commit(record(2)), 2n ** 60n + 7n);
  t.same(readBack(view).map((r) => r.offset), [2n ** 60n + 7n], 'the old record, now overwritten, was invalidated');
  resumed.close();
});
