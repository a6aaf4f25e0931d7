// Waiting for durability in every client. The test plays the host: it
// publishes durable_offset in the header (writeExtension, as the host's
// publishDurable does) and wakes futex waiters with futexWake, and checks
// what resolves a wait and what does not. Then the real host: a record a
// child saw durable survives a SIGKILL of the host. How fast a wait resolves
// is measured by `npm run bench:durable` (docs/BENCHMARKS.md), not here:
// the deadlines below only tell a wait that resolves from one that hangs.
import t, { type Test } from 'tap';
import { DURABLE_OFFSET_AT, writeExtension } from '../../src/format/index.js';
import { Mapping, futexWake } from '../../src/sys/index.js';
import { attach } from '../../src/client/index.js';
import { encodeRecord } from '../../fixtures/lib/record-codec.js';
import { waitFor } from '../../fixtures/lib/shared-child.js';
import { scratch, nthMatch } from '../host/harness.js';
import { clientTools, futexWaiter, inFutex, memfd, nodeWriter } from './helpers.js';

const SIZE = 1 << 20;

/** A configured file with three 100-byte records; returns their offsets and the last one's end. */
function prepared(t: Test): { fd: number; offsets: bigint[]; end: bigint } {
  const fd = memfd(t, SIZE);
  const state = attach({ fd, env: {} });
  const offsets = [1, 2, 3].map((i) => state.commit(encodeRecord(i, 100)));
  const end = state.writeOffset;
  state.close();
  return { fd, offsets, end };
}

/** The host's side: publish (seq, durable) and optionally wake; returns the publication time (CLOCK_MONOTONIC ns) and how many were woken. */
function publish(header: Mapping, durableOffset: bigint, snapshotSeq: bigint, wake: boolean): { at: bigint; woken: number } {
  writeExtension(header.bytes, { durableOffset, snapshotSeq });
  const at = process.hrtime.bigint();
  return { at, woken: wake ? futexWake(header, DURABLE_OFFSET_AT) : 0 };
}

t.test('C and Python: the host\'s futex wake resolves a wait, and only once the record is covered', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  for (const tool of tools) {
    for (let trial = 0; trial < 3; trial++) {
      const { fd, offsets, end } = prepared(t);
      const header = Mapping.map(fd, 4096, { writable: true });
      const w = await futexWaiter(tool, fd, 'durable', offsets[2]!, 20_000);
      // Durable up to the start of the awaited record: woken, not resolved.
      const early = publish(header, offsets[2]!, 1n, true);
      t.equal(early.woken, 1, `${tool.name}: the wake reached the sleeping waiter (a shared futex on the file)`);
      await waitFor(`${tool.name} to sleep again`, () => inFutex(w.pid), { timeout: 10_000 });
      t.equal(publish(header, end, 2n, true).woken, 1, `${tool.name}: the covering wake reached it`);
      const result = await w.done;
      header.close();
      t.same([result.durable, result.durable_offset], [true, String(end)], `${tool.name}: resolved by the covering publication, not the earlier one`);
    }
  }
});

t.test('C and Python: without a wake (an older host) a wait still sees the publication at the end of a 20 ms slice', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  for (const tool of tools) {
    const { fd, offsets, end } = prepared(t);
    const header = Mapping.map(fd, 4096, { writable: true });
    const w = await futexWaiter(tool, fd, 'durable', offsets[0]!, 20_000);
    const silent = publish(header, end, 1n, false);
    const result = await w.done;
    header.close();
    const ms = Number(BigInt(result.woke_ns) - silent.at) / 1e6;
    // A waiter that slept through its whole 20 s timeout would also see it
    // then; 5 s tells the two apart however loaded the machine.
    t.ok(result.durable && ms < 5000, `${tool.name}: resolved ${ms.toFixed(1)} ms after a publication nobody announced (not at its 20 s timeout)`);
  }
});

t.test('C and Python: a wait times out cleanly and sleeps meanwhile', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  for (const tool of tools) {
    const { fd, end } = prepared(t);
    const started = process.hrtime.bigint();
    const w = await futexWaiter(tool, fd, 'durable', end, 1000);
    const result = await w.done;
    const waited = Number(BigInt(result.woke_ns) - started) / 1e6;
    t.same([result.durable, result.code], [false, 'TIMEOUT'], `${tool.name}: not durable, TIMEOUT`);
    t.ok(waited >= 1000, `${tool.name}: gave up after ${waited.toFixed(0)} ms (timeout 1000 ms)`);
    // A busy loop would use about 1000 ms; the 20 ms slices use well under 10.
    t.ok(result.cpu_ns < 100e6, `${tool.name}: ${(result.cpu_ns / 1e6).toFixed(2)} ms of CPU in a 1 s wait (no busy loop)`);
  }
});

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

t.test('Node: durable() resolves after the covering publication, aborts, rejects on close, and runs no timer while idle', async (t) => {
  const { fd, offsets, end } = prepared(t);
  const state = attach({ fd, env: {} });
  const header = Mapping.map(fd, 4096, { writable: true });
  t.teardown(() => { header.close(); state.close(); });
  const idle = timers();
  for (let trial = 0; trial < 3; trial++) {
    const record = state.commit(encodeRecord(10 + trial, 100));
    let resolved = false;
    const waiting = state.durable(record).then((v) => { resolved = true; return v; });
    t.equal(timers(), idle + 1, 'one poll timer while a wait is pending');
    publish(header, record, BigInt(trial * 2 + 1), false); // up to the record's start: not covered
    // A wait for the record before resolves in the same poll that saw the
    // publication and left this one pending.
    await state.durable(record - 1n);
    t.equal(resolved, false, 'not resolved by a publication that ends where the record starts');
    publish(header, state.writeOffset, BigInt(trial * 2 + 2), false);
    t.equal(await waiting, state.writeOffset, 'resolved by the covering publication, with the offset it saw');
    t.equal(timers(), idle, 'no timer once nobody waits');
  }
  t.equal(await state.durable(offsets[0]!), state.writeOffset, 'an already durable record resolves at once');
  t.ok(end > 0n);

  const far = state.commit(encodeRecord(99, 100));
  await t.rejects(state.durable(far, { signal: AbortSignal.timeout(30) }), { name: 'TimeoutError' }, 'AbortSignal.timeout rejects');
  t.equal(timers(), idle, 'the aborted wait left no timer');
  const controller = new AbortController();
  controller.abort(new Error('gave up'));
  await t.rejects(state.durable(far, { signal: controller.signal }), { message: 'gave up' }, 'an aborted signal rejects at once');
  t.throws(() => state.durable('12' as unknown as bigint), TypeError, 'a non-offset is a TypeError');
  const pending = state.durable(far);
  state.close();
  await t.rejects(pending, { name: 'ShmHostError', code: 'CLOSED', message: /closed while waiting for durability/ }, 'close() rejects pending waits, with the one error shape');
  t.equal(timers(), idle, 'and stops the timer');
});

t.test('under shm-host: a record a child saw durable survives a SIGKILL of the host', async (t) => {
  // Node's await state.durable() / state.replicated() too (fixtures/ack-writer.js).
  for (const tool of [nodeWriter(), ...clientTools(t)]) {
    const work = scratch(t);
    const args = ['--dir', `${work.dir}/state`, '--interval', '50ms', '--size', '256K', '--', tool.command, ...tool.args, 'write', '--rate', '2000', '--ack-every', '200'];
    const first = work.start(args);
    const acked = Number((await nthMatch(first.stdout, new RegExp(`^${tool.name}: durable (\\d+)$`), 3, 30_000))[1]);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = work.start(args);
    const resumed = Number((await second.stdout.waitFor(new RegExp(`^${tool.name}: resumed at (\\d+)`), 30_000))[1]);
    t.ok(resumed >= acked, `${tool.name}: acknowledged durable ${acked}; after the host's SIGKILL the child resumed at ${resumed}`);
  }
});
