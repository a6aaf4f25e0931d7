// 8-byte words (atomic on aligned bytes, DataView otherwise) and the host's
// extension words.
import t from 'tap';
import {
  DURABLE_OFFSET_AT, EXT_MAGIC, EXT_MAGIC_AT, PAGE_SIZE, SNAPSHOT_SEQ_AT, U64_MAX, readExtension, wordsOf, writeExtension,
} from '../../src/format/index.js';

t.test('aligned and unaligned bytes hold the same little-endian words', async (t) => {
  for (const shift of [0, 8, 1, 5]) {
    const bytes = new Uint8Array(new ArrayBuffer(64 + shift), shift, 64);
    const words = wordsOf(bytes);
    t.equal(wordsOf(bytes), words, 'one accessor per byte array');
    words.store(8, 0x0102_0304_0506_0708n);
    words.store(56, U64_MAX);
    t.same([...bytes.subarray(8, 16)], [8, 7, 6, 5, 4, 3, 2, 1], `little-endian at shift ${shift}`);
    t.equal(words.load(8), 0x0102_0304_0506_0708n);
    t.equal(words.load(56), U64_MAX);
    t.equal(words.load(0), 0n);
  }
});

t.test('the extension words read as zero until the host writes them', async (t) => {
  const bytes = new Uint8Array(PAGE_SIZE);
  t.same(readExtension(bytes), { durableOffset: 0n, snapshotSeq: 0n });
  // Values without the extension magic are not the host's: ignored.
  const words = wordsOf(bytes);
  words.store(DURABLE_OFFSET_AT, 99n);
  words.store(SNAPSHOT_SEQ_AT, 3n);
  t.same(readExtension(bytes), { durableOffset: 0n, snapshotSeq: 0n });
  words.store(EXT_MAGIC_AT, EXT_MAGIC ^ 1n);
  t.same(readExtension(bytes), { durableOffset: 0n, snapshotSeq: 0n }, 'another extension version');

  writeExtension(bytes, { durableOffset: 123_456_789_012n, snapshotSeq: 42n });
  t.same(readExtension(bytes), { durableOffset: 123_456_789_012n, snapshotSeq: 42n });
  t.equal(words.load(EXT_MAGIC_AT), 0x5348_4d48_4f53_5401n);
  // "SHMHOST" v1, byte by byte.
  t.same([...bytes.subarray(32, 40)], [0x01, 0x54, 0x53, 0x4f, 0x48, 0x4d, 0x48, 0x53]);
  writeExtension(bytes, { durableOffset: U64_MAX, snapshotSeq: U64_MAX - 1n });
  t.same(readExtension(bytes), { durableOffset: U64_MAX, snapshotSeq: U64_MAX - 1n });
});
