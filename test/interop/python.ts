// Interop: a writer and reader written in Python from the format description
// alone (shm_records.py) and the client library take turns on one memfd,
// each handed over as fd 3 with LISTEN_* the way the host does it.
//   Python configures and commits -> attach() reads, resumes, commits ->
//   Python reads every byte back, then resumes and commits -> attach() reads.
// And Python reads a stream the client wrote past 2^53, and the host's
// extension words.
import t, { type Test } from 'tap';
import { closeSync, ftruncateSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PAGE_SIZE, minimumFileSize, planLayout, writeExtension, writeHeader } from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { attach } from '../../src/client/index.js';
import { decodeRecord, encodeRecord, recordLengthFor } from '../../fixtures/lib/record-codec.js';
import { spawnShared } from '../../fixtures/lib/shared-child.js';

const script = fileURLToPath(new URL('./shm_records.py', import.meta.url));
const SIZE = 1 << 20;

interface PythonView {
  configured: boolean;
  slots: number;
  ring: number;
  write_offset: string;
  records: { slot: number; offset: string; length: number; index?: number; defect?: string }[];
  durable_offset: string;
  snapshot_seq: string;
}

async function python(fd: number, args: string[]): Promise<string> {
  const r = await spawnShared('python3', [script, ...args], { fd }).exited;
  if (r.code !== 0) throw new Error(`python ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function pythonRead(fd: number): Promise<PythonView> {
  return JSON.parse(await python(fd, ['read'])) as PythonView;
}

function memfd(t: Test): number {
  const fd = memfdCreate('interop');
  ftruncateSync(fd, SIZE);
  t.teardown(() => closeSync(fd));
  return fd;
}

t.test('python and the client take turns on one file', async (t) => {
  const fd = memfd(t);

  // 1. Python configures the file (32 slots, 16 KiB ring) and commits 300
  //    records of 16..1024 bytes: about nine ring wraps.
  const wrote = await python(fd, ['write', '--count', '300', '--slots', '32', '--ring-size', '16384']);
  const pyEnd = BigInt(/write offset (\d+)\n$/.exec(wrote)![1]!);
  t.match(wrote, /^python: resumed at 0, write offset 0\npython: committed 300 records, last index 300, write offset \d+\n$/);

  // 2. attach() reads it: same layout, intact records, resumes after the latest.
  const state = attach({ fd, env: {} });
  t.same([state.layout.slots, state.layout.ringSize], [32, 16384], 'the layout python chose');
  t.equal(state.writeOffset, pyEnd, 'resumes at the end of python\'s last record');
  const theirs = state.records();
  t.ok(theirs.length > 5, `${theirs.length} records still in the ring`);
  t.same(theirs.map((r) => decodeRecord(r.data)), theirs.map((_, i) => 300 - theirs.length + 1 + i), 'intact, consecutive, ending at 300');
  t.equal(decodeRecord(state.latest()!), 300);
  for (let i = 1; i < theirs.length; i++) {
    if (theirs[i]!.offset !== theirs[i - 1]!.offset + BigInt(theirs[i - 1]!.data.length)) t.fail(`record ${i} follows the one before`);
  }

  // 3. The client commits 301..600 (the same encoding), then python reads every byte.
  const offsets = new Map<number, bigint>();
  for (let index = 301; index <= 600; index++) offsets.set(index, state.commit(encodeRecord(index, recordLengthFor(index))));
  t.equal(offsets.get(301), pyEnd);
  const end = state.writeOffset;
  state.close();
  const view = await pythonRead(fd);
  t.same([view.configured, view.slots, view.ring, view.write_offset], [true, 32, 16384, String(end)]);
  t.same(view.records.filter((r) => r.defect !== undefined), [], 'python finds every record intact');
  t.ok(view.records.length > 5);
  for (const r of view.records) {
    if (offsets.get(r.index!) !== BigInt(r.offset)) t.fail(`record ${r.index} at ${r.offset}, the client committed it at ${offsets.get(r.index!)}`);
  }
  t.equal(view.records.at(-1)!.index, 600, 'the latest record is the client\'s last commit');

  // 4. Python resumes after the client's latest record; the client reads that.
  const again = await python(fd, ['write', '--count', '100']);
  t.match(again, new RegExp(`^python: resumed at 600, write offset ${end}\\n`));
  const reread = attach({ fd, env: {} });
  t.equal(decodeRecord(reread.latest()!), 700);
  const indexes = reread.records().map((r) => decodeRecord(r.data));
  t.same(indexes, indexes.map((_, i) => 700 - indexes.length + 1 + i), 'python\'s records are intact and consecutive');
  reread.close();
});

t.test('python reads offsets past 2^53 exactly, and the host\'s words', async (t) => {
  const fd = memfd(t);
  const start = 2n ** 53n - 3000n;
  const setup = Mapping.map(fd, SIZE, { writable: true });
  writeHeader(setup.bytes, planLayout(SIZE, 16, 8192), start);
  writeExtension(setup.bytes, { durableOffset: start + 5n, snapshotSeq: 12n });
  setup.close();
  t.ok(minimumFileSize(16, 8192) + PAGE_SIZE <= SIZE);
  const state = attach({ fd, env: {} });
  const committed: [number, bigint][] = [];
  for (let index = 1; index <= 40; index++) committed.push([index, state.commit(encodeRecord(index, 500))]);
  state.close();
  const view = await pythonRead(fd);
  t.equal(view.write_offset, String(start + 40n * 500n));
  t.same(view.records.map((r) => [r.index, BigInt(r.offset)]), committed.slice(-16), 'the 16 newest records, one per slot, at exact offsets');
  t.same([view.durable_offset, view.snapshot_seq], [String(start + 5n), '12']);
});
