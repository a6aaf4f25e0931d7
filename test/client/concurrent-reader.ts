// The commit protocol's promise to a reader that does not stop the writer
// (the host's capture, docs/FORMAT.md, section 8): read a slot, copy its record, read
// the slot again; if the same (offset, length) was valid both times, the
// copy is intact. Here the records child commits as fast as it can in
// another process while this process checks that promise on every slot it
// can, on another core, for a fixed time; then SIGTERM stops the child
// cleanly. A writer that stored the length before the data, or overwrote
// bytes before invalidating their slot, would show torn copies here.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { copyRecord, readHeader, readSlot, type Layout } from '../../src/format/index.js';
import { recordDefect } from '../../fixtures/lib/record-codec.js';
import { spawnShared } from '../../fixtures/lib/shared-child.js';
import { watchedMemoryFile } from '../store/helpers.js';

const OBSERVE_MS = 1500;
const FILE_SIZE = 1 << 20;
const records = fileURLToPath(new URL('../../fixtures/records.js', import.meta.url));

t.test('a reader racing the writer never accepts a torn record', async (t) => {
  const { fd, view } = watchedMemoryFile(t, FILE_SIZE);
  // A 64 KiB ring with 256 slots and records of 1..4 KiB: the ring runs out
  // of bytes long before it runs out of slots, so every commit overwrites
  // bytes of records it must first invalidate, and each record takes the
  // writer long enough to copy that a reader can look in the middle.
  const child = spawnShared(process.execPath, [records, '--slots', '256', '--ring-size', '65536', '--min-size', '1024', '--max-size', '4096'], { fd });
  t.teardown(() => child.child.kill('SIGKILL'));
  t.match(await child.firstLine(), /^records: resumed at 0, write offset 0$/);
  const header = readHeader(view);
  if (!header.configured) throw new Error('the child did not configure the file');
  const layout: Layout = header.layout;

  let intact = 0;
  let changed = 0;
  const torn: string[] = [];
  /** Copies the record of slot `i` between two reads of the slot; counts the outcome. */
  const check = (i: number, pre = readSlot(view, layout, i)): boolean => {
    if (pre.length === 0) return false;
    const copy = copyRecord(view, layout, pre);
    const post = readSlot(view, layout, i);
    if (post.offset !== pre.offset || post.length !== pre.length) {
      changed += 1;
      return false;
    }
    const defect = recordDefect(copy);
    if (defect === null) intact += 1;
    else torn.push(`slot ${i} at ${pre.offset}+${pre.length}: ${defect}`);
    return true;
  };
  // Sweep: every slot in turn (catches records left valid over bytes that
  // were overwritten, or overwritten before their slot was invalidated).
  const sweep = (): void => {
    for (let i = 0; i < layout.slots; i++) check(i);
  };
  // Chase: wait on the slot the writer fills next and copy its record the
  // moment it turns valid (catches a slot published before its bytes).
  // Slots are filled in order, so the next target is the slot after.
  let caught = 0;
  let target = -1;
  let lastOffset = -1n;
  const chase = (): void => {
    if (target < 0) {
      for (let i = 0; i < layout.slots; i++) {
        const s = readSlot(view, layout, i);
        if (s.length !== 0 && s.offset > lastOffset) [target, lastOffset] = [i, s.offset];
      }
      target = (target + 1) & (layout.slots - 1);
    }
    for (let spin = 0; spin < 100_000; spin++) {
      const s = readSlot(view, layout, target);
      if (s.length !== 0 && s.offset > lastOffset) {
        if (check(target, s)) caught += 1;
        lastOffset = s.offset;
        target = (target + 1) & (layout.slots - 1);
        return;
      }
    }
    target = -1;
  };
  const until = Date.now() + OBSERVE_MS;
  while (Date.now() < until) {
    for (let round = 0; round < 20; round++) sweep();
    for (let round = 0; round < 2000; round++) chase();
    await yieldToEvents();
  }
  const { writeOffset } = readHeader(view) as { writeOffset: bigint };
  child.child.kill('SIGTERM');
  const result = await child.exited;
  t.same(torn.slice(0, 5), [], `no torn record accepted (${torn.length} in all)`);
  t.ok(intact > 1000, `${intact} records copied intact while the writer ran`);
  t.comment(`${caught} of them copied the moment they were committed; ${changed} changed under the copy and were rightly refused`);
  t.ok(writeOffset > 65536n * 10n, `the writer wrapped the ring ${writeOffset / 65536n} times meanwhile`);
  t.same([result.code, result.signal, result.stderr], [0, null, ''], 'SIGTERM stops the writer cleanly');
});
