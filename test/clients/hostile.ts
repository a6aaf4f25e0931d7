// The Python and C readers on hostile files and environments: the cases of
// the Node client's tests (test/client/attach.ts, test/format/layout.ts) and
// random damage to a real file's header and entry ring. Each reader must
// refuse with the same code as attach() in Node and a one-line message, or
// accept exactly when Node does; it must never crash (a signal would be an
// out-of-bounds access).
import t, { type Test } from 'tap';
import { closeSync, fstatSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MAGIC, planLayout, writeHeader, type Layout } from '../../src/format/index.js';
import { Mapping, memfdCreate } from '../../src/sys/index.js';
import { AttachError, attach } from '../../src/client/index.js';
import { encodeRecord } from '../../fixtures/lib/record-codec.js';
import { seededRandom } from '../host/harness.js';
import { clientTools, toolJson, type ClientTool } from './helpers.js';

const SIZE = 64 * 1024;
const U64_MAX = 2n ** 64n - 1n;

/** A memfd of `size` bytes configured with 16 slots and an 8 KiB ring, then changed by `craft`. */
function file(t: Test, size: number, craft?: (words: DataView, layout: Layout) => void): number {
  const fd = memfdCreate('hostile');
  ftruncateSync(fd, size);
  t.teardown(() => closeSync(fd));
  if (size >= SIZE && craft) {
    const m = Mapping.map(fd, size, { writable: true });
    const layout = planLayout(size, 16, 8192);
    writeHeader(m.bytes, layout);
    craft(new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength), layout);
    m.close();
  }
  return fd;
}

const slot = (dv: DataView, layout: Layout, i: number, offset: bigint, length: bigint): void => {
  dv.setBigUint64(layout.entryBase + i * 16, offset, true);
  dv.setBigUint64(layout.entryBase + i * 16 + 8, length, true);
};

/** attach() in Node on `fd`: "ok" or the code (the FormatError's for a bad file's bytes). */
function nodeVerdict(fd: number): string {
  try {
    attach({ fd, env: {} }).close();
    return 'ok';
  } catch (err) {
    if (!(err instanceof AttachError)) throw err;
    return (err.cause as { code?: string } | undefined)?.code ?? err.code;
  }
}

async function toolVerdict(t: Test, tool: ClientTool, fd: number | null, listen: Record<string, string | undefined> = {}): Promise<{ code: string; message: string }> {
  const r = await toolJson<{ code: string; message: string } | null>(tool, fd, ['check'], listen).catch((err: Error) => {
    if (/printed no JSON/.test(err.message) && /^ok\n/.test(err.message.split(': ').slice(1).join(': '))) return { status: 0, value: null, stderr: '' };
    throw err;
  });
  if (r.value === null) return { code: 'ok', message: '' };
  t.notMatch(r.value.message, /\n/, `${tool.name}: one line`);
  return r.value;
}

// name, file size, craft, expected code, message pattern
const CASES: [string, number, ((dv: DataView, l: Layout) => void) | undefined, string, RegExp][] = [
  ['a file smaller than three pages', 8192, undefined, 'BAD_FILE', /has 8192 bytes, too small for a header, an entry ring and a data ring \(at least 12288\)/],
  ['an empty file', 0, undefined, 'BAD_FILE', /has 0 bytes, too small/],
  ['a foreign magic', SIZE, (dv) => dv.setBigUint64(0, 0x12345678n, true), 'BAD_MAGIC', /not a shm-host file: magic is 0x12345678, expected 0x96c2a6f4b68519b3/],
  ['an entry mask that is no mask', SIZE, (dv) => dv.setBigUint64(8, 6n, true), 'BAD_ENTRY_MASK', /entry_mask 0x6 is not a power of two minus one/],
  ['a data mask that is no mask', SIZE, (dv) => dv.setBigUint64(16, 5n, true), 'BAD_DATA_MASK', /data_mask 0x5 is not a power of two minus one/],
  ['a ring of one byte', SIZE, (dv) => dv.setBigUint64(16, 0n, true), 'BAD_DATA_MASK', /a data ring of 1 byte cannot hold a record/],
  ['2^64 slots', SIZE, (dv) => dv.setBigUint64(8, U64_MAX, true), 'RINGS_DO_NOT_FIT', /18446744073709551616 entry slots and a 8192-byte data ring need \d+ bytes, but the file has 65536/],
  ['a ring of 2^64 bytes', SIZE, (dv) => dv.setBigUint64(16, U64_MAX, true), 'RINGS_DO_NOT_FIT', /a 18446744073709551616-byte data ring need/],
  ['2^60 slots', SIZE, (dv) => dv.setBigUint64(8, 2n ** 60n - 1n, true), 'RINGS_DO_NOT_FIT', /1152921504606846976 entry slots/],
  ['a ring one page too big', SIZE, (dv) => dv.setBigUint64(16, 65535n, true), 'RINGS_DO_NOT_FIT', /need 73728 bytes, but the file has 65536/],
  ['a record as long as the ring', SIZE, (dv, l) => slot(dv, l, 0, 0n, 8192n), 'BAD_SLOT', /slot 0 holds a 8192-byte record, but the data ring has only 8192 bytes/],
  ['a huge length', SIZE, (dv, l) => slot(dv, l, 3, 0n, U64_MAX), 'BAD_SLOT', /slot 3 holds a 18446744073709551615-byte record/],
  ['a record past the end of the u64 stream', SIZE, (dv, l) => slot(dv, l, 0, U64_MAX - 9n, 20n), 'BAD_SLOT', /slot 0 record at offset 18446744073709551606 of 20 bytes runs past the end of the u64 stream/],
  ['overlapping records', SIZE, (dv, l) => { slot(dv, l, 0, 0n, 100n); slot(dv, l, 1, 50n, 100n); }, 'BAD_RECORD_SET', /records in slots 0 and 1 overlap \(offsets 0 and 50\)/],
  ['two records at one offset', SIZE, (dv, l) => { slot(dv, l, 2, 100n, 10n); slot(dv, l, 9, 100n, 10n); }, 'BAD_RECORD_SET', /records in slots \d and \d overlap \(offsets 100 and 100\)/],
  ['overlap outside the run', SIZE, (dv, l) => { slot(dv, l, 2, 0n, 10n); slot(dv, l, 9, 5n, 10n); slot(dv, l, 12, 40n, 10n); }, 'BAD_RECORD_SET', /records in slots 2 and 9 overlap \(offsets 0 and 5\)/],
  ['a record the latest one overwrote', SIZE, (dv, l) => { slot(dv, l, 0, 0n, 10n); slot(dv, l, 1, 9000n, 100n); }, 'BAD_RECORD_SET', /slot 0 record at offset 0 lies in ring bytes overwritten by the record ending at 9100/],
  ['records outside the run are dropped, not refused', SIZE, (dv, l) => { slot(dv, l, 3, 0n, 10n); slot(dv, l, 7, 10n, 10n); }, 'ok', /^$/],
];

/** A memfd of `size` bytes (any size, not only whole pages) whose header is only magic, entry_mask and data_mask. */
function headerFile(t: Test, size: number, entryMask: bigint, dataMask: bigint): number {
  const fd = memfdCreate('hostile-header');
  ftruncateSync(fd, size);
  t.teardown(() => closeSync(fd));
  const m = Mapping.map(fd, size, { writable: true });
  const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  dv.setBigUint64(0, MAGIC, true);
  dv.setBigUint64(8, entryMask, true);
  dv.setBigUint64(16, dataMask, true);
  m.close();
  return fd;
}

const PAGE = 4096;
// The header cases of test/format/layout.ts (file sizes and masks near the
// limits of 64-bit and double arithmetic), on whole files: name, file size,
// entry_mask, data_mask, expected code, message pattern.
const HEADER_CASES: [string, number, bigint, bigint, string, RegExp][] = [
  ['rings that fill the file exactly: an empty tail is valid', 4 * PAGE, 255n, 8191n, 'ok', /^$/],
  ['the smallest ring, 2 bytes', 3 * PAGE, 3n, 1n, 'ok', /^$/],
  ['a file 8 bytes short of its rings (not a whole number of pages)', 4 * PAGE - 8, 255n, 8191n, 'RINGS_DO_NOT_FIT', /need 16384 bytes, but the file has 16376/],
  ['two pages of entries in a three-page file', 3 * PAGE, 511n, 4095n, 'RINGS_DO_NOT_FIT', /512 entry slots/],
  ['an entry mask of 2^40', 3 * PAGE, 1n << 40n, 4095n, 'BAD_ENTRY_MASK', /entry_mask 0x10000000000 is not a power of two minus one/],
  ['a data mask of 2^63', 3 * PAGE, 3n, 1n << 63n, 'BAD_DATA_MASK', /data_mask 0x8000000000000000 is not a power of two minus one/],
  ['2^60 slots and a 2^63-byte ring', 3 * PAGE, (1n << 60n) - 1n, (1n << 63n) - 1n, 'RINGS_DO_NOT_FIT', /1152921504606846976 entry slots and a 9223372036854775808-byte data ring need/],
  ['a 2^53-byte ring (a double would round its size)', 3 * PAGE, 0n, (1n << 53n) - 1n, 'RINGS_DO_NOT_FIT', /a 9007199254740992-byte data ring need 9007199254749184 bytes/],
];

t.test('hostile files: the same refusal as attach() in Node, one line, no crash', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  const cases: [string, () => number, string, RegExp][] = [
    ...CASES.map(([name, size, craft, code, message]): [string, () => number, string, RegExp] => [name, () => file(t, size, craft), code, message]),
    ...HEADER_CASES.map(([name, size, em, dm, code, message]): [string, () => number, string, RegExp] => [name, () => headerFile(t, size, em, dm), code, message]),
  ];
  for (const [name, make, code, message] of cases) {
    t.equal(nodeVerdict(make()), code, `node: ${name}`);
    for (const tool of tools) {
      const v = await toolVerdict(t, tool, make());
      t.equal(v.code, code, `${tool.name}: ${name}`);
      t.match(v.message, message, `${tool.name}: ${name}: the message names the problem`);
    }
  }
});

t.test('hostile environments and descriptors, as sd_listen_fds_with_names does', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  const dir = mkdtempSync(`${tmpdir()}/shm-host-hostile-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(`${dir}/plain`, new Uint8Array(SIZE));
  const readOnly = openSync(`${dir}/plain`, 'r');
  t.teardown(() => closeSync(readOnly));
  const devNull = openSync('/dev/null', 'r+');
  t.teardown(() => closeSync(devNull));
  const good = file(t, SIZE, () => undefined);
  t.equal(fstatSync(good).size, SIZE);
  const cases: [string, number | null, Record<string, string | undefined>, string, RegExp][] = [
    ['no LISTEN_* at all', good, { LISTEN_FDS: undefined, LISTEN_FDNAMES: undefined, LISTEN_PID: undefined }, 'NO_SHARED_FILE', /LISTEN_FDS is not set/],
    ['LISTEN_PID of another process', good, { LISTEN_PID: '1' }, 'PID_MISMATCH', /LISTEN_PID=1 is not this process/],
    ['LISTEN_FDS=1 without LISTEN_FDNAMES', good, { LISTEN_FDNAMES: undefined }, 'NO_SUCH_NAME', /none of the 1 passed file descriptors is named SHM_SHARED_FD/],
    ['another name', good, { LISTEN_FDNAMES: 'other' }, 'NO_SUCH_NAME', /LISTEN_FDNAMES=other/],
    ['our name past LISTEN_FDS', good, { LISTEN_FDNAMES: 'a:SHM_SHARED_FD' }, 'NO_SUCH_NAME', /none of the 1/],
    ['LISTEN_FDS=0', good, { LISTEN_FDS: '0' }, 'BAD_ENVIRONMENT', /LISTEN_FDS=0 passes no file descriptor/],
    ['LISTEN_FDS not a number', good, { LISTEN_FDS: 'one' }, 'BAD_ENVIRONMENT', /LISTEN_FDS=one/],
    ['nothing open on fd 3', null, {}, 'BAD_FILE', /file descriptor 3 is not open/],
    ['a character device on fd 3', devNull, {}, 'BAD_FILE', /file descriptor 3 is not a file/],
    ['a file opened read-only', readOnly, {}, 'BAD_FILE', /cannot map the shared file on fd 3 read-write/],
  ];
  for (const [name, fd, listen, code, message] of cases) {
    for (const tool of tools) {
      const v = await toolVerdict(t, tool, fd, listen);
      t.equal(v.code, code, `${tool.name}: ${name}`);
      t.match(v.message, message, `${tool.name}: ${name}: the message`);
    }
  }
});

t.test('random damage to a written file: every reader agrees with Node and never crashes', async (t) => {
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  const seed = Number(process.env.SHM_FUZZ_SEED ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with SHM_FUZZ_SEED=${seed})`);
  const random = seededRandom(seed);
  const ROUNDS = Number(process.env.SHM_FUZZ_ROUNDS ?? 40);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const u64 = (): bigint => (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
  const values = [0n, 1n, 2n, 15n, 16n, 8191n, 8192n, 9000n, 2n ** 32n, 2n ** 63n, U64_MAX];
  const verdicts = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    // A real file: 16 slots, 8 KiB ring, 40 records (the ring has wrapped).
    const damage: [number, bigint][] = [];
    const words = 1 + Math.floor(random() * 3);
    for (let k = 0; k < words; k++) {
      const at = random() < 0.3 ? 8 * Math.floor(random() * 4) : 4096 + 8 * Math.floor(random() * 32);
      damage.push([at, random() < 0.5 ? pick(values) : random() < 0.5 ? u64() : BigInt(Math.floor(random() * 20_000))]);
    }
    const make = (): number => {
      const fd = file(t, SIZE, () => undefined);
      const state = attach({ fd, env: {} });
      for (let i = 1; i <= 40; i++) state.commit(encodeRecord(i, 16 + ((i * 97) % 600)));
      state.close();
      const m = Mapping.map(fd, SIZE, { writable: true });
      const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      for (const [at, v] of damage) dv.setBigUint64(at, v, true);
      m.close();
      return fd;
    };
    const expected = nodeVerdict(make());
    verdicts.set(expected, (verdicts.get(expected) ?? 0) + 1);
    for (const tool of tools) {
      const v = await toolVerdict(t, tool, make());
      if (v.code !== expected) t.fail(`round ${round}, damage ${damage.map(([a, x]) => `${a}=${x}`).join(' ')}: ${tool.name} says ${v.code} (${v.message}), node ${expected}`);
    }
  }
  t.ok(verdicts.size >= 3, `verdicts over ${ROUNDS} rounds: ${[...verdicts].map(([c, n]) => `${c} ${n}`).join(', ')}`);
});
