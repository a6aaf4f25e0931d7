// Memory files over 4 GiB in src/live: a copy into a memory file goes
// through a buffer, or with much data a 1 GiB window of a mapping at a time
// (data across window edges, hashed exactly either way), and an
// entry ring one buffer cannot view is refused as a layout, never a fatal
// error of the runtime.
import t, { type Test } from 'tap';
import { readSync, writeSync } from 'node:fs';
import { ChunkDigests, planLayout, writeHeader } from '../../src/format/index.js';
import { MAX_VIEW_BYTES, Mapping, dataRuns } from '../../src/sys/index.js';
import { SnapshotStore, checksumOfFile } from '../../src/store/index.js';
import { CaptureError, capture, copyIntoMemoryFile } from '../../src/live/index.js';
import { copiesThroughMapping } from '../../src/live/into-memory-file.js';
import { memoryFile, scratchDir } from '../store/helpers.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** Data runs across the edges of the 1 GiB copy windows and at the file's end: little data, copied through a buffer. */
const PIECES: ReadonlyArray<readonly [number, number, number]> = [[GiB - 100, 200, 1], [3 * GiB - MiB, 2 * MiB, 2], [4 * GiB + 4093, 5000, 3], [5 * GiB - 10, 10, 4]];
/** The same and 16 MiB more across the 2 GiB edge: enough data to be read straight into a mapping of the destination, window by window. */
const MANY_PIECES: ReadonlyArray<readonly [number, number, number]> = [...PIECES, [2 * GiB - 8 * MiB, 16 * MiB, 5]];

function readAt(fd: number, at: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  readSync(fd, out, 0, length, at);
  return out;
}

/** Copies a 5 GiB memory file holding `pieces` into a new one (`mapped`: the way it must go) and checks every byte, hole and digest. */
async function copiesExactly(t: Test, pieces: ReadonlyArray<readonly [number, number, number]>, mapped: boolean): Promise<void> {
  const from = memoryFile(t, 5 * GiB);
  for (const [at, length, byte] of pieces) writeSync(from, Buffer.alloc(length, byte), 0, length, at);
  t.equal(copiesThroughMapping(from, 5 * GiB), mapped, mapped ? 'this copy goes through a mapping' : 'this copy goes through a buffer');
  const digests = new ChunkDigests(5 * GiB);
  const to = memoryFile(t, 0);
  const result = await copyIntoMemoryFile(from, to, 5 * GiB, 0, digests);
  t.same(result, { size: 5 * GiB, bytesCopied: dataRuns(from, 0, 5 * GiB).reduce((n, [a, b]) => n + b - a, 0) });
  for (const [at, length, byte] of pieces) {
    t.ok(readAt(to, at, length).equals(Buffer.alloc(length, byte)), `the ${length} bytes at ${at}`);
    t.equal(readAt(to, at - 1, 1)[0], 0, `a zero before them`);
  }
  t.same(dataRuns(to, 0, 5 * GiB), dataRuns(from, 0, 5 * GiB), 'holes stay holes');
  t.equal(digests.value(), await checksumOfFile(from, 5 * GiB), 'the checksum of what was copied is the source\'s');
}

t.test('a 5 GiB file is copied into a memory file exactly, through a buffer (little data), and hashed as the file itself', (t) => copiesExactly(t, PIECES, false));

t.test('a 5 GiB file is copied into a memory file exactly, through a mapping, window by window (16 MiB of data and more), and hashed as the file itself', (t) => copiesExactly(t, MANY_PIECES, true));

t.test('an entry ring larger than one buffer is refused as a layout', { skip: MAX_VIEW_BYTES > 2 ** 32 ? `Node ${process.version} views ${MAX_VIEW_BYTES} bytes at once: such a ring is scanned` : false }, async (t) => {
  const slots = 2 ** 28; // 4 GiB of entries
  const size = 5 * GiB;
  const fd = memoryFile(t, size);
  const header = Mapping.map(fd, 4096, { writable: true });
  writeHeader(header.bytes, planLayout(size, slots, 4096));
  header.close();
  const store = await SnapshotStore.open(scratchDir(t), { keep: 10 });
  t.teardown(() => store.close());
  await t.rejects(capture(fd, store, 'request'), new CaptureError('invalid-layout', `child wrote an invalid layout: its ${slots} entry slots take ${slots * 16} bytes, more than one JavaScript buffer holds in Node ${process.version} (4294967296)`));
});
