// Header parsing and layout planning: valid headers, and one hostile header
// per validation rule (each asserts the rule's own error code, so removing
// the rule makes its test fail).
import t from 'tap';
import {
  DATA_MASK_AT, ENTRY_MASK_AT, HEADER_SIZE, MAGIC, MAGIC_AT, PAGE_SIZE, U64_MAX, WRITE_OFFSET_AT,
  minimumFileSize, planLayout, readHeader, readLayout, writeHeader,
} from '../../src/format/index.js';
import { throwsFormatError } from './helpers.js';

interface Header {
  magic?: bigint;
  entryMask?: bigint;
  dataMask?: bigint;
  writeOffset?: bigint;
}

/** A file image with the given header words; `shift` makes it unaligned (a view at byte 1 of a buffer). */
function image(size: number, h: Header, shift = 0): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(size + shift), shift, size);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size >= HEADER_SIZE) {
    dv.setBigUint64(MAGIC_AT, h.magic ?? MAGIC, true);
    dv.setBigUint64(ENTRY_MASK_AT, h.entryMask ?? 0n, true);
    dv.setBigUint64(DATA_MASK_AT, h.dataMask ?? 0n, true);
    dv.setBigUint64(WRITE_OFFSET_AT, h.writeOffset ?? 0n, true);
  }
  return bytes;
}

t.test('a valid header gives the layout docs/FORMAT.md describes', async (t) => {
  for (const shift of [0, 1]) {
    // 256 slots = exactly one entry page; 8 KiB ring; 3 pages of tail.
    const size = HEADER_SIZE + PAGE_SIZE + 2 * PAGE_SIZE + 3 * PAGE_SIZE;
    const state = readHeader(image(size, { entryMask: 255n, dataMask: 8191n, writeOffset: 12345n }, shift));
    t.equal(state.configured, true);
    if (!state.configured) return;
    t.same(state.layout, {
      fileSize: size, slots: 256, ringSize: 8192, entryMask: 255n, dataMask: 8191n,
      entryBase: 4096, dataBase: 8192, tailBase: 16384, tailSize: 3 * PAGE_SIZE,
    }, `aligned: ${shift === 0}`);
    t.equal(state.writeOffset, 12345n);
  }
});

t.test('the entry ring is rounded up to whole pages, even for one slot', async (t) => {
  const one = readLayout(image(3 * PAGE_SIZE, { entryMask: 0n, dataMask: 4095n }));
  t.equal(one.layout.slots, 1);
  t.equal(one.layout.dataBase, 2 * PAGE_SIZE);
  t.equal(one.layout.tailSize, 0);
  // 257 slots would not be a power of two; 512 slots = 8 KiB = two pages.
  const two = readLayout(image(5 * PAGE_SIZE, { entryMask: 511n, dataMask: 4095n }));
  t.equal(two.layout.dataBase, 3 * PAGE_SIZE);
  t.equal(two.layout.tailBase, 4 * PAGE_SIZE);
  // A ring smaller than a page still occupies a whole page.
  const small = readLayout(image(3 * PAGE_SIZE, { entryMask: 3n, dataMask: 63n }));
  t.equal(small.layout.ringSize, 64);
  t.equal(small.layout.tailBase, 3 * PAGE_SIZE);
});

t.test('a zero magic is an unconfigured file, and readLayout refuses it', async (t) => {
  t.same(readHeader(image(3 * PAGE_SIZE, { magic: 0n, entryMask: 5n, dataMask: 7n })), { configured: false });
  throwsFormatError(t, () => readLayout(image(3 * PAGE_SIZE, { magic: 0n })), 'BAD_MAGIC', /not configured/);
});

t.test("a broken layout's error gives its detail as a field: the message is `invalid layout: ` and the detail", async (t) => {
  const thrown = (bytes: Uint8Array): unknown => {
    try {
      return readHeader(bytes);
    } catch (err) {
      return err;
    }
  };
  const mask = 'entry_mask 0x5 is not a power of two minus one';
  t.match(thrown(image(3 * PAGE_SIZE, { entryMask: 5n, dataMask: 4095n })), { code: 'BAD_ENTRY_MASK', detail: mask, message: `invalid layout: ${mask}` });
  // An error that is not about the layout's bytes has its message as its detail.
  const foreign = 'not a shm-host file: magic is 0x1234, expected 0x96c2a6f4b68519b3';
  t.match(thrown(image(3 * PAGE_SIZE, { magic: 0x1234n })), { code: 'BAD_MAGIC', detail: foreign, message: foreign });
});

t.test('hostile headers: each validation rule has its own error', async (t) => {
  throwsFormatError(t, () => readHeader(new Uint8Array(HEADER_SIZE - 8)), 'TOO_SMALL', /4088 bytes, less than the 4096-byte header/);
  throwsFormatError(t, () => readHeader(new Uint8Array(0)), 'TOO_SMALL', /0 bytes/);
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { magic: 0x1234n })), 'BAD_MAGIC', /not a shm-host file: magic is 0x1234/);
  // The magic of another layout version, byte-swapped: still foreign.
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { magic: 0xb31985b6f4a6c296n })), 'BAD_MAGIC', /expected 0x96c2a6f4b68519b3/);
  // A delta generation's data file (docs/FORMAT.md section 9) is shm-host's own: said as such, not as a foreign magic.
  const delta = new Uint8Array(3 * PAGE_SIZE);
  delta.set(new TextEncoder().encode('SHMDELTA'));
  throwsFormatError(t, () => readHeader(delta), 'BAD_MAGIC', /^a delta generation's data file \(magic SHMDELTA\), not an image: .* read through its chain/);

  // Masks that are not 2^k - 1.
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: 5n, dataMask: 4095n })), 'BAD_ENTRY_MASK', /entry_mask 0x5 is not a power of two minus one/);
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: 1n << 40n, dataMask: 4095n })), 'BAD_ENTRY_MASK', /entry_mask/);
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: 3n, dataMask: 4094n })), 'BAD_DATA_MASK', /data_mask 0xffe is not a power of two minus one/);
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: 3n, dataMask: 0x8000_0000_0000_0000n })), 'BAD_DATA_MASK', /data_mask/);
  // A 1-byte ring (mask 0) cannot hold a record (records are 1 .. ring-1 bytes).
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: 3n, dataMask: 0n })), 'BAD_DATA_MASK', /cannot hold a record/);
  // A 2-byte ring is the smallest valid one.
  t.equal(readLayout(image(3 * PAGE_SIZE, { entryMask: 3n, dataMask: 1n })).layout.ringSize, 2);
});

t.test('hostile headers: rings that do not fit the file', async (t) => {
  // Exactly fits: header + 1 entry page + 2 ring pages.
  t.equal(readLayout(image(4 * PAGE_SIZE, { entryMask: 255n, dataMask: 8191n })).layout.tailSize, 0);
  throwsFormatError(t, () => readHeader(image(4 * PAGE_SIZE - 8, { entryMask: 255n, dataMask: 8191n })), 'RINGS_DO_NOT_FIT', /need 16384 bytes, but the file has 16376/);
  // Entry ring too large (2 pages of entries in a 3-page file).
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: 511n, dataMask: 4095n })), 'RINGS_DO_NOT_FIT', /512 entry slots/);
  // Masks near 2^64: the size arithmetic must not overflow or lose precision.
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: U64_MAX, dataMask: 4095n })), 'RINGS_DO_NOT_FIT', /18446744073709551616 entry slots/);
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: 0n, dataMask: U64_MAX })), 'RINGS_DO_NOT_FIT', /18446744073709551616-byte data ring/);
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: (1n << 60n) - 1n, dataMask: (1n << 63n) - 1n })), 'RINGS_DO_NOT_FIT', /need/);
  // 2^53 + something: a double would round this to a size that "fits".
  throwsFormatError(t, () => readHeader(image(3 * PAGE_SIZE, { entryMask: 0n, dataMask: (1n << 53n) - 1n })), 'RINGS_DO_NOT_FIT', /need/);
});

t.test('planLayout checks a writer configuration against the file', async (t) => {
  const l = planLayout(minimumFileSize(64, 4096) + PAGE_SIZE, 64, 4096);
  t.same([l.slots, l.ringSize, l.entryMask, l.dataMask, l.dataBase, l.tailBase, l.tailSize], [64, 4096, 63n, 4095n, 8192, 12288, 4096]);
  t.equal(minimumFileSize(1, 2), 3 * PAGE_SIZE);
  t.equal(minimumFileSize(257 * 16, 8192), HEADER_SIZE + pagesOf(257 * 16 * 16) + 2 * PAGE_SIZE);
  for (const [slots, ring, name] of [[3, 4096, 'slots'], [0, 4096, 'slots'], [-4, 4096, 'slots'], [1.5, 4096, 'slots'], [4, 1000, 'ringSize'], [4, 2 ** 60, 'ringSize']] as const) {
    throwsFormatError(t, () => planLayout(1 << 20, slots, ring), 'BAD_CONFIG', new RegExp(`${name} must be a power of two`));
  }
  throwsFormatError(t, () => planLayout(1 << 20, 4, 1), 'BAD_CONFIG', /ringSize must be at least 2/);
  throwsFormatError(t, () => planLayout(3 * PAGE_SIZE, 4, 8192), 'RINGS_DO_NOT_FIT', /need a file of at least 16384 bytes, but it has 12288/);
});

function pagesOf(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

t.test('writeHeader then readHeader round-trips, magic last', async (t) => {
  for (const shift of [0, 1]) {
    const bytes = image(8 * PAGE_SIZE, { magic: 0n }, shift);
    const layout = planLayout(bytes.byteLength, 128, 8192);
    writeHeader(bytes, layout, 77n);
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    t.equal(dv.getBigUint64(MAGIC_AT, true), MAGIC, 'magic stored little-endian');
    t.equal(dv.getBigUint64(ENTRY_MASK_AT, true), 127n);
    t.equal(dv.getBigUint64(DATA_MASK_AT, true), 8191n);
    const back = readLayout(bytes);
    t.same(back.layout, layout);
    t.equal(back.writeOffset, 77n);
  }
  // Byte-level check of the magic, independent of our own reader.
  const bytes = image(3 * PAGE_SIZE, { magic: 0n });
  writeHeader(bytes, planLayout(bytes.byteLength, 1, 4096));
  t.same([...bytes.subarray(0, 8)], [0xb3, 0x19, 0x85, 0xb6, 0xf4, 0xa6, 0xc2, 0x96]);
});

t.test('readHeader of a file\'s first page, given the whole file\'s size', async (t) => {
  const whole = HEADER_SIZE + PAGE_SIZE + 2 * PAGE_SIZE;
  const page = image(HEADER_SIZE, { entryMask: 255n, dataMask: 8191n });
  const state = readHeader(page, whole);
  t.equal(state.configured && state.layout.fileSize, whole);
  t.equal(state.configured && state.layout.tailSize, 0);
  throwsFormatError(t, () => readHeader(page, whole - 1), 'RINGS_DO_NOT_FIT', /but the file has 16383/);
  throwsFormatError(t, () => readHeader(page), 'RINGS_DO_NOT_FIT', /but the file has 4096/);
});
