// The replication words (docs/FORMAT.md section 5) in every client: zero
// until the host writes them with their magic, then what it published, and
// never readable without the magic; durable_offset's readers are unaffected.
import t from 'tap';
import { readExtension, writeExtension } from '../../src/format/index.js';
import { Mapping } from '../../src/sys/index.js';
import { attach } from '../../src/client/index.js';
import { publishReplicated } from '../../src/live/index.js';
import { encodeRecord } from '../../fixtures/lib/record-codec.js';
import { clientTools, memfd, toolJson, type ReadView } from './helpers.js';

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
