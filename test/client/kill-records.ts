// Crash safety across processes: the records fixture runs on a memfd passed
// as fd 3 (LISTEN_* and the exec trampoline, as the host starts children)
// and is SIGKILLed at random moments, on one file, round after round. After
// every kill the parent checks the file on its own:
//   - the record set is one the protocol can produce, and every valid
//     record is intact (self-checking encoding);
//   - the records are one contiguous stream with consecutive indexes, also
//     across restarts (each incarnation resumed exactly after the latest);
//   - the latest record is the last index the child logged or the one after
//     it (the log is written after commit() returns);
//   - write_offset is the latest record's end, or its start when the kill
//     fell between the slot stores and the write_offset store;
// and when the next child starts, the line it prints says it resumed at the
// latest index and at its end. Every tenth round runs a child to completion
// (--count) and checks exactly what it committed.
import t from 'tap';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import {
  checkRecordSet, copyRecord, readHeader, validSlots,
} from '../../src/format/index.js';
import { decodeRecord, recordDefect } from '../../fixtures/lib/record-codec.js';
import { lastLogged } from '../../fixtures/lib/commit-log.js';
import { spawnShared, waitFor } from '../../fixtures/lib/shared-child.js';
import { watchedMemoryFile } from '../store/helpers.js';
import { seededRandom } from '../host/harness.js';

const ROUNDS = Number(process.env.SHM_KILL_ROUNDS ?? 60);
const FILE_SIZE = 1 << 20;
const records = fileURLToPath(new URL('../../fixtures/records.js', import.meta.url));
// A small ring (32 KiB, 128 slots, records of 16..2048 bytes, about 370 on
// average) so that the writer wraps and invalidates constantly: mostly
// because the ring runs out of bytes, sometimes because it runs out of slots.
const CHILD_ARGS = ['--slots', '128', '--ring-size', '32768', '--max-size', '2048'];
const RESUMED = /^records: resumed at (\d+), write offset (\d+)$/;

interface Latest {
  index: number;
  offset: bigint;
  end: bigint;
  /** Stream offset of every valid record, by index. */
  offsets: Map<number, bigint>;
}

t.test(`SIGKILL the records child ${ROUNDS} times at random moments`, async (t) => {
  const seed = Number(process.env.SHM_KILL_SEED ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with SHM_KILL_SEED=${seed})`);
  const random = seededRandom(seed); // replay with SHM_KILL_SEED
  const dir = t.testdir({});
  const log = join(dir, 'committed.log');
  const { fd, view } = watchedMemoryFile(t, FILE_SIZE);

  /** Checks the file after a child is gone; returns its latest record (index 0 when none). */
  function check(round: number): Latest {
    const header = readHeader(view);
    if (!header.configured) {
      if (lastLogged(log) !== null) throw new Error(`round ${round}: the file is unconfigured but the log has entries`);
      return { index: 0, offset: 0n, end: 0n, offsets: new Map() };
    }
    const { layout, writeOffset } = header;
    const valid = checkRecordSet(layout, validSlots(view, layout));
    let previous: { index: number; end: bigint } | null = null;
    const offsets = new Map<number, bigint>();
    for (const slot of valid) {
      const data = copyRecord(view, layout, slot);
      const defect = recordDefect(data);
      if (defect !== null) throw new Error(`round ${round}: slot ${slot.index} at offset ${slot.offset} is torn: ${defect}`);
      const index = decodeRecord(data);
      if (previous && (index !== previous.index + 1 || slot.offset !== previous.end)) {
        throw new Error(`round ${round}: record ${index} at ${slot.offset} does not follow record ${previous.index} ending at ${previous.end}`);
      }
      previous = { index, end: slot.offset + BigInt(slot.length) };
      offsets.set(index, slot.offset);
    }
    const last = valid.at(-1);
    const latest = last
      ? { index: previous!.index, offset: last.offset, end: previous!.end, offsets }
      : { index: 0, offset: 0n, end: writeOffset, offsets };
    const logged = lastLogged(log) ?? 0;
    if (latest.index !== logged && latest.index !== logged + 1) {
      throw new Error(`round ${round}: the latest record is ${latest.index}, but the child logged ${logged} as its last commit`);
    }
    if (last && writeOffset !== latest.end && writeOffset !== latest.offset) {
      throw new Error(`round ${round}: write_offset ${writeOffset} is neither the end (${latest.end}) nor the start of the latest record`);
    }
    return latest;
  }

  function checkResumedLine(round: number, stdout: string, before: Latest): boolean {
    const line = stdout.split('\n')[0] ?? '';
    const m = RESUMED.exec(line);
    if (!m) return false;
    if (Number(m[1]) !== before.index || BigInt(m[2]!) !== before.end) {
      throw new Error(`round ${round}: the child resumed at ${m[1]} (offset ${m[2]}), but the latest record was ${before.index} ending at ${before.end}`);
    }
    return true;
  }

  let latest: Latest = { index: 0, offset: 0n, end: 0n, offsets: new Map() };
  let resumesChecked = 0;
  let killsAfterCommits = 0;
  let maxIndex = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const before = latest;
    if (round % 10 === 0) {
      // A child run to completion: exactly the next three records.
      const result = await spawnShared(process.execPath, [records, '--count', '3', '--log', log, ...CHILD_ARGS], { fd }).exited;
      if (result.code !== 0) throw new Error(`round ${round}: the --count child failed (${result.code}): ${result.stderr}`);
      if (checkResumedLine(round, result.stdout, before)) resumesChecked += 1;
      latest = check(round);
      t.equal(latest.index, before.index + 3, `round ${round}: a clean run commits exactly three records`);
      t.equal(latest.offsets.get(before.index + 1), before.end, `round ${round}: the first of them starts where the latest record ended`);
      t.equal(lastLogged(log), latest.index, `round ${round}: and logs all three`);
      continue;
    }
    const logSize = (): number => { try { return statSync(log).size; } catch { return 0; } };
    const sizeBefore = logSize();
    const child = spawnShared(process.execPath, [records, '--log', log, ...CHILD_ARGS], { fd });
    if (random() < 0.15) {
      // Kill somewhere in start-up: loading, attaching, configuring, resuming.
      await delay(random() * 250);
    } else {
      await waitFor(`round ${round}: the child's first commit`, () => logSize() > sizeBefore);
      await delay(random() * 15);
      killsAfterCommits += 1;
    }
    child.child.kill('SIGKILL');
    const result = await child.exited;
    if (result.signal !== 'SIGKILL') throw new Error(`round ${round}: the child ended by itself (${result.code}): ${result.stderr}`);
    if (checkResumedLine(round, result.stdout, before)) resumesChecked += 1;
    latest = check(round);
    if (latest.index < before.index) throw new Error(`round ${round}: the latest record went back from ${before.index} to ${latest.index}`);
    maxIndex = latest.index;
  }
  t.pass(`${ROUNDS} rounds: every valid record intact, the latest record logged or the one after it`);
  t.ok(killsAfterCommits >= ROUNDS / 2, `${killsAfterCommits} kills while committing`);
  t.ok(resumesChecked >= killsAfterCommits, `${resumesChecked} restarts resumed exactly after the latest record`);
  t.ok(maxIndex > 1000, `${maxIndex} records committed in all`);
});
