// Property test of the commit protocol through the real SharedState on a
// real memfd: random ring and slot counts, random record sizes over many
// ring wraps, random starting stream offsets (0, around 2^32, around 2^53,
// anywhere below 2^62) and re-attaches in between (some after a simulated
// kill between a commit's slot stores and its write_offset store). After every commit an
// independent read-only mapping of the same file must show:
//   - latest() and latestRecord() are the commit that just returned;
//   - the header's write_offset is the end of that commit;
//   - the valid slots are exactly the newest commits whose bytes are still
//     in the ring (offset >= end - ring), at most one per slot: nothing
//     overwritten stays valid, nothing still intact is dropped;
//   - every valid slot's bytes are the bytes committed at that offset.
import t from 'tap';
import fc from 'fast-check';
import { closeSync, ftruncateSync } from 'node:fs';
import {
  PAGE_SIZE, WRITE_OFFSET_AT, checkRecordSet, copyRecord, latestOf, minimumFileSize, planLayout, readLayout, sortedRecords,
  validSlots, writeHeader,
} from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { attach, type SharedState } from '../../src/client/index.js';

interface Committed {
  offset: bigint;
  data: Uint8Array;
}

const config = fc.record({
  slots: fc.constantFrom(1, 2, 4, 8, 32),
  ringSize: fc.constantFrom(16, 64, 256, 4096),
  start: fc.oneof(
    fc.constant(0n),
    fc.bigInt({ min: 2n ** 32n - 3000n, max: 2n ** 32n + 10n }),
    fc.bigInt({ min: 2n ** 53n - 3000n, max: 2n ** 53n + 10n }),
    fc.bigInt({ min: 0n, max: 2n ** 62n }),
  ),
});

// Each step: a record size as a fraction of the ring (small ones mostly),
// and whether to close and re-attach before committing it.
const steps = fc.array(
  fc.record({
    size: fc.oneof({ weight: 4, arbitrary: fc.double({ min: 0, max: 0.125, noNaN: true }) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
    reattach: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    // On re-attach, roll the header's write_offset back to where it was
    // before the last commit's step 6: a writer killed between its slot
    // store and its write_offset store.
    stale: fc.boolean(),
    fill: fc.integer({ min: 0, max: 255 }),
  }),
  { minLength: 1, maxLength: 200, size: 'max' },
);

function recordOf(ring: number, size: number, fill: number, serial: number): Uint8Array {
  const length = Math.max(1, Math.min(ring - 1, Math.floor(size * (ring - 1))));
  // Bytes that differ per commit, so a stale byte cannot pass for a fresh one.
  return Uint8Array.from({ length }, (_, i) => (fill + serial * 31 + i) & 0xff);
}

function checkFile(view: Uint8Array, ring: number, slots: number, committed: Committed[], state: SharedState): void {
  const { layout, writeOffset } = readLayout(view);
  const last = committed[committed.length - 1]!;
  const end = last.offset + BigInt(last.data.length);
  assert(writeOffset === end, `write_offset ${writeOffset} is the end of the last commit ${end}`);

  const valid = checkRecordSet(layout, validSlots(view, layout));
  const expected = committed.slice(-slots).filter((c) => c.offset >= end - BigInt(ring));
  assert(valid.length === expected.length, `valid records: ${valid.map((v) => v.offset)}; expected ${expected.map((c) => c.offset)}`);
  for (let i = 0; i < valid.length; i++) {
    const v = valid[i]!;
    const c = expected[i]!;
    assert(v.offset === c.offset && v.length === c.data.length, `record ${i}: slot ${v.index} holds ${v.offset}+${v.length}, expected ${c.offset}+${c.data.length}`);
    assert(Buffer.from(copyRecord(view, layout, v)).equals(c.data), `record at ${v.offset} holds the bytes committed there`);
  }
  assert(latestOf(valid)?.offset === last.offset, 'the latest valid slot is the last commit');
  const latest = state.latestRecord();
  assert(latest !== null && latest.offset === last.offset && Buffer.from(latest.data).equals(last.data), 'latestRecord() is the last commit');
  assert(Buffer.from(state.latest()!).equals(last.data), 'latest() is the last commit');
  assert(state.writeOffset === end, 'writeOffset is the end of the last commit');
}

function checkRecords(state: SharedState, view: Uint8Array): void {
  const { layout } = readLayout(view);
  const fromFile = sortedRecords(validSlots(view, layout));
  const fromState = state.records();
  assert(fromState.length === fromFile.length, 'records() lists every valid record');
  fromState.forEach((r, i) => {
    assert(r.offset === fromFile[i]!.offset && Buffer.from(r.data).equals(copyRecord(view, layout, fromFile[i]!)), `records()[${i}]`);
  });
}

function assert(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

t.test('commit keeps the protocol invariants over many ring wraps', async (t) => {
  let commits = 0;
  let wraps = 0;
  let reattaches = 0;
  fc.assert(
    fc.property(config, steps, ({ slots, ringSize, start }, plan) => {
      const size = minimumFileSize(slots, ringSize) + PAGE_SIZE;
      const fd = memfdCreate('commit-property');
      const observer: Mapping[] = [];
      let state: SharedState | null = null;
      try {
        ftruncateSync(fd, size);
        // Configure the file ourselves so the stream can start anywhere.
        const setup = Mapping.map(fd, size, { writable: true });
        writeHeader(setup.bytes, planLayout(size, slots, ringSize), start);
        setup.close();
        observer.push(Mapping.map(fd, size));
        const view = observer[0]!.bytes;
        state = attach({ fd, env: {} });
        assert(state.writeOffset === start, 'a fresh file resumes at its write_offset');
        assert(state.latest() === null && state.records().length === 0, 'no records yet');
        const committed: Committed[] = [];
        let w = start;
        plan.forEach((step, serial) => {
          if (step.reattach && state) {
            state.close();
            const last = committed[committed.length - 1];
            if (step.stale && last) {
              const writer = Mapping.map(fd, size, { writable: true });
              new DataView(writer.bytes.buffer, writer.bytes.byteOffset).setBigUint64(WRITE_OFFSET_AT, last.offset, true);
              writer.close();
            }
            state = attach({ fd, env: {} });
            reattaches += 1;
            assert(state.writeOffset === w, `re-attach resumes at ${w}, not ${state.writeOffset}`);
            checkRecords(state, view);
          }
          const data = recordOf(ringSize, step.size, step.fill, serial);
          const offset = state!.commit(data);
          assert(offset === w, `commit returned ${offset}, expected ${w}`);
          committed.push({ offset, data });
          if ((w + BigInt(data.length)) / BigInt(ringSize) !== w / BigInt(ringSize)) wraps += 1;
          w += BigInt(data.length);
          commits += 1;
          checkFile(view, ringSize, slots, committed, state!);
        });
        checkRecords(state!, view);
      } finally {
        state?.close();
        for (const m of observer) m.close();
        closeSync(fd);
      }
    }),
    { numRuns: 300 },
  );
  t.ok(commits > 5000, `${commits} commits checked`);
  t.ok(wraps > 500, `${wraps} ring wraps`);
  t.ok(reattaches > 10, `${reattaches} re-attaches`);
});
