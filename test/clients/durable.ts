// Waiting for durability in every client. The test plays the host: it
// publishes durable_offset in the header (writeExtension, as the host's
// publishDurable does) and wakes futex waiters with futexWake, and measures
// how long after the publication each waiter resolves. Then the real host:
// a record a child saw durable survives a SIGKILL of the host.
import t, { type Test } from 'tap';
import { DURABLE_OFFSET_AT, writeExtension } from '../../src/format/index.js';
import { Mapping, futexWake } from '../../src/sys/index.js';
import { attach } from '../../src/client/index.js';
import { encodeRecord } from '../../fixtures/lib/record-codec.js';
import { waitFor } from '../../fixtures/lib/shared-child.js';
import { scratch, nthMatch } from '../host/harness.js';
import { clientTools, futexWaiter, inFutex, memfd } from './helpers.js';

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

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

t.test('C and Python: the host\'s futex wake resolves a wait within milliseconds, and only once the record is covered', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  for (const tool of tools) {
    const latencies: number[] = [];
    for (let trial = 0; trial < 5; trial++) {
      const { fd, offsets, end } = prepared(t);
      const header = Mapping.map(fd, 4096, { writable: true });
      const w = await futexWaiter(tool, fd, 'durable', offsets[2]!, 20_000);
      // Durable up to the start of the awaited record: woken, not resolved.
      const early = publish(header, offsets[2]!, 1n, true);
      t.equal(early.woken, 1, `${tool.name}: the wake reached the sleeping waiter (a shared futex on the file)`);
      await waitFor(`${tool.name} to sleep again`, () => inFutex(w.pid), { timeout: 10_000 });
      const covering = publish(header, end, 2n, true);
      const result = await w.done;
      header.close();
      t.same([result.durable, result.durable_offset], [true, String(end)], `${tool.name}: resolved by the covering publication, not the earlier one`);
      latencies.push(Number(BigInt(result.woke_ns) - covering.at) / 1e6);
    }
    t.comment(`${tool.name}: wake-to-resolve latency ${latencies.map((l) => l.toFixed(2)).join(', ')} ms`);
    t.ok(median(latencies) < 10, `${tool.name}: median latency ${median(latencies).toFixed(2)} ms after the publication`);
  }
});

t.test('C and Python: without a wake (an older host) a wait still resolves within its 20 ms slice', async (t) => {
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
    t.ok(result.durable && ms < 250, `${tool.name}: resolved ${ms.toFixed(1)} ms after a publication nobody announced`);
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
    t.ok(result.cpu_ns < 50e6, `${tool.name}: ${(result.cpu_ns / 1e6).toFixed(2)} ms of CPU in a 1 s wait`);
  }
});

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

t.test('Node: durable() resolves after the covering publication, aborts, rejects on close, and runs no timer while idle', async (t) => {
  const { fd, offsets, end } = prepared(t);
  const state = attach({ fd, env: {} });
  const header = Mapping.map(fd, 4096, { writable: true });
  t.teardown(() => { header.close(); state.close(); });
  const idle = timers();
  const latencies: number[] = [];
  for (let trial = 0; trial < 5; trial++) {
    const record = state.commit(encodeRecord(10 + trial, 100));
    let resolvedAt = 0n;
    const waiting = state.durable(record).then((v) => { resolvedAt = process.hrtime.bigint(); return v; });
    t.equal(timers(), idle + 1, 'one poll timer while a wait is pending');
    publish(header, record, BigInt(trial * 2 + 1), false); // up to the record's start: not covered
    // A wait for the record before resolves in the same poll that saw the
    // publication and left this one pending.
    await state.durable(record - 1n);
    t.equal(resolvedAt, 0n, 'not resolved by a publication that ends where the record starts');
    const p = publish(header, state.writeOffset, BigInt(trial * 2 + 2), false);
    t.equal(await waiting, state.writeOffset);
    latencies.push(Number(resolvedAt - p.at) / 1e6);
    t.equal(timers(), idle, 'no timer once nobody waits');
  }
  t.comment(`node: publication-to-resolve latency ${latencies.map((l) => l.toFixed(2)).join(', ')} ms`);
  t.ok(median(latencies) < 10, `node: median ${median(latencies).toFixed(2)} ms`);
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
  await t.rejects(pending, { message: /closed while waiting for durability/ }, 'close() rejects pending waits');
  t.equal(timers(), idle, 'and stops the timer');
});

t.test('under shm-host: a record a child saw durable survives a SIGKILL of the host', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  for (const tool of tools) {
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
