// The replication words (docs/FORMAT.md section 5) in every client: zero
// until the host writes them with their magic, then what it published, and
// never readable without the magic; durable_offset's readers are unaffected.
import t from 'tap';
import { readExtension, writeExtension } from '../../src/format/index.js';
import { Mapping } from '../../src/sys/index.js';
import { attach } from '../../src/client/index.js';
import { publishReplicated } from '../../src/live/index.js';
import { encodeRecord } from '../../fixtures/lib/record-codec.js';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { waitFor } from '../../fixtures/lib/shared-child.js';
import { nthMatch, scratch, untilDead } from '../host/harness.js';
import { clientTools, futexWaiter, inFutex, memfd, nodeWriter, toolJson, type ReadView } from './helpers.js';

t.test('replicated_offset: published by the host, read by Node, Python and C', async (t) => {
  const fd = memfd(t, 1 << 20);
  const state = attach({ fd, env: {} });
  t.teardown(() => state.close());
  const offsets = [1, 2, 3].map((i) => state.commit(encodeRecord(i, 100)));
  const header = Mapping.map(fd, 4096, { writable: true });
  t.teardown(() => header.close());
  writeExtension(header.bytes, { durableOffset: state.writeOffset, snapshotSeq: 9n });
  t.equal(state.replicatedOffset(), 0n, 'Node: 0 before the host wrote it');
  for (const tool of clientTools(t)) t.equal((await toolJson<ReadView>(tool, fd, ['read'])).value.replicated_offset, '0', `${tool.name}: 0 before`);

  const pending = state.replicated(offsets[1]!, { signal: AbortSignal.timeout(5000) });
  const end = offsets[2]!;
  t.same(publishReplicated(fd, end, 7), { replicatedOffset: end, replicatedSeq: 7 }, 'the host publishes');
  t.equal(await pending, end, 'Node: replicated(offset) resolves once the word passes the record');
  t.equal(state.replicatedOffset(), end, 'Node: replicatedOffset()');
  t.equal(state.replicatedSeq(), 7n, 'Node: replicatedSeq()');
  t.equal(publishReplicated(fd, offsets[0]!, 6), null, 'it never moves backwards');
  t.same(readExtension(header.bytes), { durableOffset: state.writeOffset, snapshotSeq: 9n }, 'durable_offset and snapshot_seq are untouched');
  for (const tool of clientTools(t)) {
    const view = (await toolJson<ReadView>(tool, fd, ['read'])).value;
    t.equal(view.replicated_offset, String(end), `${tool.name}: replicated_offset`);
    t.equal(view.durable_offset, String(state.writeOffset), `${tool.name}: durable_offset unaffected`);
  }
  await t.rejects(state.replicated(end, { signal: AbortSignal.timeout(20) }), 'a record past it waits, and the signal ends the wait');

  new DataView(header.bytes.buffer, header.bytes.byteOffset).setBigUint64(56, 0n, true);
  t.equal(state.replicatedOffset(), 0n, 'Node: no magic, no word');
  for (const tool of clientTools(t)) t.equal((await toolJson<ReadView>(tool, fd, ['read'])).value.replicated_offset, '0', `${tool.name}: no magic, 0`);
});

t.test('C and Python: wait_replicated sleeps until replicated_offset passes the record, woken by the host\'s publication', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  for (const tool of tools) {
    const fd = memfd(t, 1 << 20);
    const state = attach({ fd, env: {} });
    const offsets = [1, 2, 3].map((i) => state.commit(encodeRecord(i, 100)));
    const end = state.writeOffset;
    state.close();
    const w = await futexWaiter(tool, fd, 'replicated', offsets[2]!, 20_000);
    // Replicated up to the start of the awaited record: the waiter wakes and sleeps again.
    publishReplicated(fd, offsets[2]!, 1);
    await waitFor(`${tool.name} to sleep again`, () => inFutex(w.pid), { timeout: 10_000 });
    const at = process.hrtime.bigint();
    publishReplicated(fd, end, 2);
    const result = await w.done;
    t.same([result.replicated, result.replicated_offset, result.code], [true, String(end), 'OK'], `${tool.name}: resolved by the covering publication, not the earlier one`);
    const ms = Number(BigInt(result.woke_ns) - at) / 1e6;
    // Within the 20 ms slice a missed wake would cost, with room for a loaded machine.
    t.ok(ms < 15, `${tool.name}: woke ${ms.toFixed(2)} ms after the publication`);

    const late = await futexWaiter(tool, fd, 'replicated', end, 300);
    const timedOut = await late.done;
    t.same([timedOut.replicated, timedOut.code], [false, 'TIMEOUT'], `${tool.name}: a record past replicated_offset times out`);
    t.ok(timedOut.cpu_ns < 50e6, `${tool.name}: ${(timedOut.cpu_ns / 1e6).toFixed(2)} ms of CPU in a 300 ms wait`);
  }
});

t.test('under shm-host --replica: a record a child saw replicated survives the loss of the machine', async (t) => {
  // Node's await state.durable() / state.replicated() too (fixtures/ack-writer.js).
  for (const tool of [nodeWriter(), ...clientTools(t)]) {
    const work = scratch(t);
    const replica = pathToFileURL(join(work.dir, 'replica')).href;
    const run = (dir: string) => work.start(['--dir', join(work.dir, dir), '--interval', '50ms', '--size', '256K', '--replica', replica, '--', tool.command, ...tool.args, 'write', '--rate', '2000', '--ack-every', '200', '--ack', 'replicated']);
    const first = run('machine-a');
    const acked = Number((await nthMatch(first.stdout, new RegExp(`^${tool.name}: replicated (\\d+)$`), 3, 30_000))[1]);
    const child = Number((await nthMatch(first.stderr, /started child (\d+)/, 1))[1]);
    first.child.kill('SIGKILL');
    await first.exited;
    await untilDead(child, 5000);
    rmSync(join(work.dir, 'machine-a'), { recursive: true, force: true });
    const second = run('machine-b');
    await second.stderr.waitFor(/restored generation \d+ .*from replica/, 30_000);
    const resumed = Number((await second.stdout.waitFor(new RegExp(`^${tool.name}: resumed at (\\d+)`), 30_000))[1]);
    t.ok(resumed >= acked, `${tool.name}: acknowledged replicated ${acked}; on a new machine the child resumed at ${resumed}`);
    second.child.kill('SIGTERM');
    await second.exited;
  }
});
