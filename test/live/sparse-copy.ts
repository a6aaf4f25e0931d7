// copySparse's progress reports: what it says is written must be written,
// although its steps may complete out of order.
import t from 'tap';
import { writeSync } from 'node:fs';
import { copySparse } from '../../src/live/index.js';
import { fileContents as contents, memoryFile } from '../store/helpers.js';

const MiB = 1 << 20;

t.test('onWritten never reports bytes past a step still in flight, even when a later step completes first, and reaches the last data', async (t) => {
  // Steps are 1 MiB: data in steps 0-3, a hole in step 4 (so slot 0 is not
  // reused there), data in steps 5-11. Step 0's write is held until a write
  // of step 5 or later has completed, so steps 1-3 settle before it.
  const size = 12 * MiB;
  const from = memoryFile(t, size);
  const to = memoryFile(t, size);
  const bytes = Buffer.alloc(MiB);
  for (let at = 0; at < size; at += MiB) {
    if (at === 4 * MiB) continue;
    bytes.fill((at / MiB) + 1);
    writeSync(from, bytes, 0, MiB, at);
  }
  const done: Array<[number, number]> = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reports: number[] = [];
  const covered = (end: number): boolean => {
    for (let at = 0; at < end; at += 4096) {
      if (at >= 4 * MiB && at < 5 * MiB) continue; // the hole needs no write
      if (!done.some(([a, b]) => a <= at && at < b)) return false;
    }
    return true;
  };
  let early = false;
  await copySparse(from, to, 0, size, {
    size,
    write: async (buf, offset, length, position) => {
      if (position < MiB) await gate;
      writeSync(to, buf, offset, length, position);
      done.push([position, position + length]);
      if (position >= 5 * MiB) release();
    },
    onWritten: (end) => {
      reports.push(end);
      if (!covered(end)) early = true;
    },
  });
  t.notOk(early, `every report covers only completed writes: ${reports.map((r) => r / MiB).join(', ')} MiB`);
  t.ok(reports.every((r, i) => i === 0 || r > reports[i - 1]!), 'reports only grow');
  t.equal(reports.at(-1), size, 'the last report reaches the end of the data');
  t.ok(contents(to).equals(contents(from)), 'and the copy is exact');
});
