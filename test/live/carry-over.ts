// Carrying a dead child's memory into its successor's new file with the
// proof of an exact post-mortem capture; refused, so that the supervisor
// captures first, when the layout is broken or the file is still written.
import t, { type Test } from 'tap';
import { writeSync } from 'node:fs';
import { WRITE_OFFSET_AT, wordsOf } from '../../src/format/index.js';
import { Mapping } from '../../src/sys/index.js';
import { carryOver } from '../../src/live/index.js';
import { spawnShared } from '../../fixtures/lib/shared-child.js';
import { commitRecords, fileContents as contents, fixture, liveFile, memoryFile } from '../store/helpers.js';

t.test('an idle file: carried byte for byte, every record named', async (t) => {
  const { fd, state } = liveFile(t, 512 * 1024, 64, 64 * 1024);
  commitRecords(state, 300);
  state.tail.set(new TextEncoder().encode('application state in the tail'), 1000);
  const to = memoryFile(t, 0);
  const result = await carryOver(fd, to);
  const live = state.records();
  const last = live.at(-1)!;
  t.same(result, {
    kind: 'carried', configured: true, records: live.length, size: 512 * 1024,
    latest: { offset: last.offset, length: last.data.length },
  });
  t.ok(contents(to).equals(contents(fd)), 'the new file reads exactly like the old one');
});

t.test('a file never configured: carried raw', async (t) => {
  const from = memoryFile(t, 256 * 1024);
  writeSync(from, Buffer.from('state written without the protocol'), 0, 34, 8192);
  const to = memoryFile(t, 0);
  t.same(await carryOver(from, to), { kind: 'carried', configured: false, records: 0, latest: null, size: 256 * 1024 });
  t.ok(contents(to).equals(contents(from)));
});

t.test('a broken layout is refused with the reason a capture gives', async (t) => {
  const { fd, state } = liveFile(t);
  commitRecords(state, 10);
  writeSync(fd, Buffer.alloc(8, 0xee), 0, 8, 0);
  const result = await carryOver(fd, memoryFile(t, 0));
  t.equal(result.kind, 'refused');
  t.match(result.kind === 'refused' ? result.reason : '', /^child wrote an invalid layout: not a shm-host file/);
});

/**
 * A 64 MiB file with a child committing into it at full speed. Its tail is
 * written first, so a copy takes a while (holes are not copied): commits
 * land during the copy, not only in the moment between the proof's second
 * scan and the caller's look at the write offset.
 */
async function busyFile(t: Test): Promise<{ fd: number; writeOffset: () => bigint }> {
  const fd = memoryFile(t, 64 << 20, true);
  const block = Buffer.alloc(1 << 20, 0x5a);
  for (let at = 1 << 20; at < 64 << 20; at += block.length) writeSync(fd, block, 0, block.length, at);
  const child = spawnShared(process.execPath, [fixture('records.js'), '--slots', '64', '--ring-size', String(64 * 1024)], { fd });
  t.teardown(async () => {
    child.child.kill('SIGTERM');
    await child.exited;
  });
  if (await child.firstLine() === null) throw new Error(`records.js did not start: ${child.stderr}`);
  const header = Mapping.map(fd, 4096);
  t.teardown(() => header.close());
  const words = wordsOf(header.bytes);
  return { fd, writeOffset: () => words.load(WRITE_OFFSET_AT) };
}

t.test('a file something still writes is refused', async (t) => {
  const { fd, writeOffset } = await busyFile(t);
  // A scheduler may pause the writer for a whole copy: count only carries
  // during which it committed.
  let checked = 0;
  for (let attempt = 0; attempt < 20 && checked < 3; attempt++) {
    const before = writeOffset();
    const result = await carryOver(fd, memoryFile(t, 0));
    if (writeOffset() === before) continue;
    checked += 1;
    t.same(result, { kind: 'refused', reason: 'the shared file changed while it was carried over: a process outside the child\'s group still writes it' });
  }
  t.ok(checked >= 1, `${checked} carries raced a committing writer`);
});
