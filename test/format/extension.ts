// The host's header words (docs/FORMAT.md section 5): read back only behind the extension magic.
import t from 'tap';
import { DURABLE_OFFSET_AT, EXT_MAGIC, EXT_MAGIC_AT, HEADER_SIZE, SNAPSHOT_SEQ_AT, readExtension, writeExtension } from '../../src/format/index.js';

const header = (): Uint8Array => new Uint8Array(new ArrayBuffer(HEADER_SIZE));
const word = (bytes: Uint8Array, at: number): bigint => new DataView(bytes.buffer).getBigUint64(at, true);

t.test('a header the host never wrote reads as zeros, whatever its other words hold', async (t) => {
  const bytes = header();
  new DataView(bytes.buffer).setBigUint64(DURABLE_OFFSET_AT, 1234n, true);
  t.same(readExtension(bytes), { durableOffset: 0n, snapshotSeq: 0n });
});

t.test('written words read back, at the offsets FORMAT.md gives, with the magic last', async (t) => {
  const bytes = header();
  writeExtension(bytes, { durableOffset: 2n ** 63n + 5n, snapshotSeq: 77n });
  t.equal(word(bytes, EXT_MAGIC_AT), EXT_MAGIC);
  t.equal(word(bytes, DURABLE_OFFSET_AT), 2n ** 63n + 5n);
  t.equal(word(bytes, SNAPSHOT_SEQ_AT), 77n);
  t.same(readExtension(bytes), { durableOffset: 2n ** 63n + 5n, snapshotSeq: 77n });
  t.same([EXT_MAGIC_AT, DURABLE_OFFSET_AT, SNAPSHOT_SEQ_AT], [32, 40, 48]);
});

t.test('a wrong extension magic hides the words', async (t) => {
  const bytes = header();
  writeExtension(bytes, { durableOffset: 9n, snapshotSeq: 1n });
  new DataView(bytes.buffer).setBigUint64(EXT_MAGIC_AT, EXT_MAGIC ^ 1n, true);
  t.same(readExtension(bytes), { durableOffset: 0n, snapshotSeq: 0n });
});
