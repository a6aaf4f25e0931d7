// The counter and records fixtures keep the promises other tests and the
// demo rely on: the resume line, the log written after each commit, a clean
// stop on SIGTERM (status 0, everything logged), usage errors on one line.
// And the self-checking record encoding tells intact records from torn ones.
import t, { type Test } from 'tap';
import { closeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLayout, sortedRecords, validSlots, copyRecord } from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { readCommitLog } from '../../fixtures/lib/commit-log.js';
import { MIN_RECORD_LENGTH, decodeRecord, encodeRecord, recordDefect, recordLengthFor } from '../../fixtures/lib/record-codec.js';
import { spawnShared, waitFor } from '../../fixtures/lib/shared-child.js';

const counter = fileURLToPath(new URL('../../fixtures/counter.js', import.meta.url));
const records = fileURLToPath(new URL('../../fixtures/records.js', import.meta.url));
const SIZE = 1 << 20;

function memfd(t: Test): number {
  const fd = memfdCreate('fixtures-test');
  ftruncateSync(fd, SIZE);
  t.teardown(() => closeSync(fd));
  return fd;
}

/** The counter value of the latest record in the file (0 when none). */
function latestCounter(fd: number): number {
  const m = Mapping.map(fd, SIZE);
  try {
    const { layout } = readLayout(m.bytes);
    const latest = sortedRecords(validSlots(m.bytes, layout)).at(-1);
    if (!latest) return 0;
    const data = copyRecord(m.bytes, layout, latest);
    if (data.length !== 8) throw new Error(`the latest record has ${data.length} bytes, not a counter's 8`);
    return Number(new DataView(data.buffer).getBigUint64(0, true));
  } finally {
    m.close();
  }
}

for (const rate of ['300', 'max']) {
  t.test(`counter at rate ${rate}: SIGTERM stops it cleanly with every commit logged`, async (t) => {
    const fd = memfd(t);
    const log = join(t.testdir({}), 'counter.log');
    const first = spawnShared(process.execPath, [counter, '--rate', rate, '--log', log], { fd });
    t.equal(await first.firstLine(), 'counter: resumed at 0');
    await waitFor('ten logged values', () => readCommitLog(log).length >= 10);
    first.child.kill('SIGTERM');
    const r1 = await first.exited;
    t.same([r1.code, r1.signal, r1.stderr], [0, null, ''], 'exit status 0');
    const values = readCommitLog(log);
    t.same(values, values.map((_, i) => i + 1), 'values 1, 2, 3... each logged once, in order');
    const latest = latestCounter(fd);
    t.equal(latest, values.at(-1), 'after a clean stop the last logged value is the latest committed');

    // The environment variable names the log too; the counter continues.
    const second = spawnShared(process.execPath, [counter, '--count', '5', '--rate', rate], { fd, env: { ...process.env, NODE_OPTIONS: undefined, SHM_COUNTER_LOG: log } });
    const r2 = await second.exited;
    t.same([r2.code, r2.stdout], [0, `counter: resumed at ${latest}\n`]);
    t.same(readCommitLog(log).slice(-5), [1, 2, 3, 4, 5].map((n) => latest + n));
    t.equal(latestCounter(fd), latest + 5);
  });
}

t.test('counter at full speed, SIGKILLed: latest >= last logged, within one batch', async (t) => {
  const fd = memfd(t);
  const log = join(t.testdir({}), 'counter.log');
  const child = spawnShared(process.execPath, [counter, '--log', log], { fd });
  await waitFor('a few batches logged', () => readCommitLog(log).length >= 1000);
  child.child.kill('SIGKILL');
  t.equal((await child.exited).signal, 'SIGKILL');
  const last = readCommitLog(log).at(-1)!;
  const latest = latestCounter(fd);
  t.ok(latest >= last && latest <= last + 256, `latest ${latest} is within a batch (256) after the last logged ${last}`);
});

t.test('records: --count, sizes, and a clean stop', async (t) => {
  const fd = memfd(t);
  const log = join(t.testdir({}), 'records.log');
  const r = await spawnShared(process.execPath, [records, '--count', '50', '--min-size', '100', '--max-size', '300', '--log', log], { fd }).exited;
  t.same([r.code, r.stdout, r.stderr], [0, 'records: resumed at 0, write offset 0\n', '']);
  t.same(readCommitLog(log), Array.from({ length: 50 }, (_, i) => i + 1));
  const m = Mapping.map(fd, SIZE);
  t.teardown(() => m.close());
  const { layout, writeOffset } = readLayout(m.bytes);
  const valid = sortedRecords(validSlots(m.bytes, layout));
  t.equal(valid.length, 50);
  let expected = 0n;
  for (const [i, slot] of valid.entries()) {
    const data = copyRecord(m.bytes, layout, slot);
    t.equal(decodeRecord(data), i + 1);
    t.equal(data.length, recordLengthFor(i + 1, 100, 300));
    t.equal(slot.offset, expected);
    expected += BigInt(data.length);
  }
  t.equal(writeOffset, expected);
  const again = await spawnShared(process.execPath, [records, '--count', '0'], { fd }).exited;
  t.same([again.code, again.stdout], [0, `records: resumed at 50, write offset ${expected}\n`]);
});

t.test('usage errors: one line, status 2', async (t) => {
  const cases: [string, string[], RegExp][] = [
    [counter, ['--rate', 'fast', '--standalone'], /^counter: the rate must be commits per second \(a number >= 0\) or "max", got fast$/],
    [counter, ['--count=-1', '--standalone'], /^counter: --count must be a whole number, got -1$/],
    [counter, ['--count', '-1', '--standalone'], /^counter: Option '--count' argument is ambiguous\. Did you forget/],
    [counter, ['--bogus'], /^counter: Unknown option '--bogus'/],
    [records, ['--standalone', '--min-size', '8'], /^records: --min-size must be between 16 and 1024/],
    [records, ['--standalone', '--slots', '3'], /^records: options.slots must be a power of two, got 3$/],
  ];
  for (const [script, args, message] of cases) {
    const r = await spawnShared(process.execPath, [script, ...args], { listen: { LISTEN_PID: undefined, LISTEN_FDS: undefined, LISTEN_FDNAMES: undefined } }).exited;
    t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
    t.match(r.stderr.trim(), message);
    t.equal(r.code, message.source.includes('slots') ? 1 : 2);
  }
});

t.test('the record encoding: intact records decode, any damage is named', async (t) => {
  for (const index of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
    for (const length of [MIN_RECORD_LENGTH, 17, 100, 4096]) {
      const r = encodeRecord(index, length);
      t.equal(r.length, length);
      t.equal(recordDefect(r), null);
      if (decodeRecord(r) !== index) t.fail(`record ${index} of ${length} bytes decodes`);
    }
  }
  const r = encodeRecord(7, 64);
  const flip = (at: number): Uint8Array => { const c = r.slice(); c[at]! ^= 1; return c; };
  t.match(recordDefect(flip(0)), /checksum mismatch/);
  t.match(recordDefect(flip(8)), /the length field says/);
  t.match(recordDefect(flip(30)), /checksum mismatch/);
  t.match(recordDefect(flip(63)), /checksum mismatch/);
  t.match(recordDefect(r.subarray(0, 40)), /the length field says 64 bytes, the record has 40/);
  t.match(recordDefect(r.subarray(0, 10)), /shorter than the 16-byte minimum/);
  // The payload differs between records, so bytes of another record never pass.
  const a = encodeRecord(1, 64);
  const b = encodeRecord(2, 64);
  t.not(Buffer.from(a.subarray(12, 60)).toString('hex'), Buffer.from(b.subarray(12, 60)).toString('hex'));
  // A record whose checksum was recomputed over a wrong payload is caught by the payload check.
  const forged = encodeRecord(3, 64);
  forged.set(b.subarray(12, 60), 12);
  const { crc32 } = await import('node:zlib');
  new DataView(forged.buffer).setUint32(60, crc32(forged.subarray(0, 60)), true);
  t.match(recordDefect(forged), /payload byte 12 is \d+, record 3 has \d+ there/);
  t.throws(() => decodeRecord(forged), /not an intact record/);
  t.throws(() => encodeRecord(-1, 64), RangeError);
  t.throws(() => encodeRecord(1, 15), RangeError);
  const lengths = Array.from({ length: 2000 }, (_, i) => recordLengthFor(i, 16, 1024));
  t.ok(lengths.every((l) => l >= 16 && l <= 1024), 'lengths stay in range');
  t.ok(lengths.some((l) => l > 900) && lengths.some((l) => l < 40), 'and vary over it');
});
