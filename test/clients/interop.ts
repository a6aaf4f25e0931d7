// Interop: Node, Python and C take turns on one file, each handed over as
// fd 3 with LISTEN_* the way the host does it. Every client writes after
// every other one and reads back what every other one wrote (records and
// tail), so each ordered pair is covered in both directions; then the same
// for the double-buffer helper's records and regions.
import t, { type Test } from 'tap';
import { crc32 } from 'node:zlib';
import { attach, DoubleBuffer } from '../../src/client/index.js';
import { decodeRecord, encodeRecord, recordLengthFor } from '../../fixtures/lib/record-codec.js';
import { clientTools, dbufVersion, memfd, tailPattern, toolJson, runTool, type ClientTool, type DbufView, type ReadView } from './helpers.js';

const SIZE = 1 << 20;
const TAIL = 4096;
const PER_STEP = 200;

type Client = ClientTool | 'node';
const nameOf = (c: Client): string => (c === 'node' ? 'node' : c.name);

/** Writes PER_STEP records and the tail pattern of `seed`; returns the write offset after. */
async function write(t: Test, client: Client, fd: number, seed: number): Promise<bigint> {
  if (client === 'node') {
    const state = attach({ fd, env: {}, slots: 32, ringSize: 16384 });
    state.tail.set(tailPattern(seed, TAIL));
    const latest = state.latest();
    let index = latest ? decodeRecord(latest) : 0;
    for (let k = 0; k < PER_STEP; k++, index++) state.commit(encodeRecord(index + 1, recordLengthFor(index + 1)));
    const end = state.writeOffset;
    state.close();
    return end;
  }
  const r = await runTool(client, fd, ['write', '--count', String(PER_STEP), '--slots', '32', '--ring-size', '16384', '--tail-seed', String(seed), '--tail-length', String(TAIL)]);
  t.equal(r.code, 0, `${client.name} wrote: ${r.stderr}`);
  return BigInt(/write offset (\d+)\n$/.exec(r.stdout)![1]!);
}

/** Reads the file as `client` does. */
async function read(client: Client, fd: number): Promise<ReadView> {
  if (client === 'node') {
    const state = attach({ fd, env: {} });
    const view: ReadView = {
      slots: state.layout.slots,
      ring: state.layout.ringSize,
      write_offset: String(state.writeOffset),
      records: state.records().map((r) => ({ offset: String(r.offset), length: r.data.length, index: decodeRecord(r.data) })),
      durable_offset: String(state.durableOffset()),
      snapshot_seq: String(state.snapshotSeq()),
      tail_size: state.tail.length,
      tail_crc: crc32(state.tail.subarray(0, TAIL)),
    };
    state.close();
    return view;
  }
  const { status, value } = await toolJson<ReadView>(client, fd, ['read', '--tail-length', String(TAIL)]);
  if (status !== 0) throw new Error(`${client.name} read failed: ${JSON.stringify(value)}`);
  return value;
}

t.test('records and tail: every client writes after, and reads, every other one', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  const clients: Client[] = ['node', ...tools];
  // Consecutive steps cover every ordered pair: node p c node c p (node).
  const order: Client[] = tools.length === 2 ? ['node', tools[0]!, tools[1]!, 'node', tools[1]!, tools[0]!, 'node'] : ['node', tools[0]!, 'node'];
  const pairs = new Set(order.slice(1).map((b, i) => `${nameOf(order[i]!)}->${nameOf(b)}`));
  t.equal(pairs.size, clients.length * (clients.length - 1), `every ordered pair: ${[...pairs].join(', ')}`);
  const fd = memfd(t, SIZE);
  let expectedIndex = 0;
  for (let step = 0; step + 1 < order.length; step++) {
    const writer = order[step]!;
    const reader = order[step + 1]!;
    const end = await write(t, writer, fd, step + 1);
    expectedIndex += PER_STEP;
    const view = await read(reader, fd);
    const what = `${nameOf(writer)} -> ${nameOf(reader)}`;
    t.same([view.slots, view.ring, view.write_offset], [32, 16384, String(end)], `${what}: layout and write offset`);
    t.same(view.records.filter((r) => r.defect !== undefined), [], `${what}: every record intact`);
    t.equal(view.records.at(-1)?.index, expectedIndex, `${what}: the latest record is the writer's last`);
    const indexes = view.records.map((r) => r.index!);
    t.same(indexes, indexes.map((_, i) => expectedIndex - indexes.length + 1 + i), `${what}: ${indexes.length} consecutive records`);
    for (let i = 1; i < view.records.length; i++) {
      const prev = view.records[i - 1]!;
      if (BigInt(view.records[i]!.offset) !== BigInt(prev.offset) + BigInt(prev.length)) t.fail(`${what}: record ${i} does not follow the one before`);
    }
    t.equal(view.tail_crc, crc32(tailPattern(step + 1, TAIL)), `${what}: the tail the writer left`);
  }
});

t.test('double buffer: each client continues the versions another wrote', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  const fd = memfd(t, SIZE);
  const order: Client[] = ['node', ...tools, 'node', ...tools.slice().reverse(), 'node'];
  let version = 0;
  for (const client of order) {
    if (client === 'node') {
      const state = attach({ fd, env: {} });
      const region = new DoubleBuffer(state, 4096);
      const cur = region.read();
      t.equal(Number(cur?.version ?? 0), version, 'node reads the version the previous client wrote');
      if (cur) t.same(cur.data, dbufVersion(version), `node: version ${version} intact`);
      region.write(dbufVersion(++version));
      region.write(dbufVersion(++version));
      state.close();
      continue;
    }
    const before = await toolJson<DbufView>(client, fd, ['dbuf-read', '--capacity', '4096']);
    t.same(before.value, { version, length: 100 + (version % 900), intact: true, recovered: false, crc: crc32(dbufVersion(version)) }, `${client.name} reads version ${version} intact`);
    const after = await toolJson<DbufView>(client, fd, ['dbuf-write', '--capacity', '4096', '--count', '2']);
    version += 2;
    t.same(after.value, { version, length: 100 + (version % 900), intact: true, recovered: false, crc: crc32(dbufVersion(version)) }, `${client.name} wrote version ${version}`);
  }
});
