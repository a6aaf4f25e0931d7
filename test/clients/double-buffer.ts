// The double buffer after a host crash, in every client (docs/FORMAT.md,
// sections 6 and 8): a capture proves records, not tail bytes, so the half
// the restored latest record names can have been rewritten while it was
// copied. Node, Python and C each write the buffer; a real capture (or an
// image put together from the moments a capture reads) is restored into a
// new memfd; every client must read the same intact version from it.
import t, { type Test } from 'tap';
import { readSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { attach, DoubleBuffer } from '../../src/client/index.js';
import { readLayout } from '../../src/format/index.js';
import { Mapping } from '../../src/sys/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { capture, restoreImage } from '../../src/live/index.js';
import { memoryFile, scratchDir } from '../store/helpers.js';
import { clientTools, dbufVersion, toolJson, type ClientTool, type DbufView } from './helpers.js';

type Client = ClientTool | 'node';
const nameOf = (c: Client): string => (c === 'node' ? 'node' : c.name);

const MiB = 1 << 20;
const SIZE = 4 * MiB;
const SLOTS = 64;
const RING = 64 * 1024;
const TAIL_BASE = 4096 + 4096 + RING; // header page, 64 slots in one page, the ring
// At file offset 1 MiB: read after the capture's first tail step of up to 1 MiB.
const REGION = MiB - TAIL_BASE;
const CAPACITY = 4096;
const HEADER = 48;
const geometry = ['--capacity', String(CAPACITY), '--region', String(REGION), '--slots', String(SLOTS), '--ring-size', String(RING)];

/** `count` more versions, written by `client`. */
async function writeVersions(t: Test, client: Client, fd: number, count: number): Promise<void> {
  if (client === 'node') {
    const state = attach({ fd, env: {}, slots: SLOTS, ringSize: RING });
    const buffer = new DoubleBuffer(state, CAPACITY, REGION);
    let version = Number(buffer.read()?.version ?? 0n);
    for (let k = 0; k < count; k++) buffer.write(dbufVersion(++version));
    state.close();
    return;
  }
  const r = await toolJson<DbufView>(client, fd, ['dbuf-write', '--count', String(count), ...geometry]);
  t.equal(r.status, 0, `${client.name} wrote ${count} versions: ${JSON.stringify(r.value)} ${r.stderr}`);
}

/** What `client` reads from the double buffer in `fd`. */
async function readVersion(client: Client, fd: number): Promise<DbufView | { code: string }> {
  if (client === 'node') {
    const state = attach({ fd, env: {} });
    try {
      const got = new DoubleBuffer(state, CAPACITY, REGION).read();
      if (got === null) return { version: 0, length: 0, intact: false, recovered: false, crc: 0 };
      const want = dbufVersion(Number(got.version));
      return { version: Number(got.version), length: got.data.length, intact: Buffer.from(got.data).equals(want), recovered: got.recovered, crc: crc32(got.data) };
    } catch (err) {
      return { code: (err as { code: string }).code };
    } finally {
      state.close();
    }
  }
  return (await toolJson<DbufView | { code: string }>(client, fd, ['dbuf-read', ...geometry])).value;
}

/** Junk over part of half `half`'s bytes, as a writer in the middle of a version leaves it. */
function tear(fd: number, half: number): void {
  const mapping = Mapping.map(fd, SIZE, { writable: true });
  try {
    const at = TAIL_BASE + REGION + half * CAPACITY + HEADER + 40;
    mapping.bytes.fill(0xa5, at, at + 50);
  } finally {
    mapping.close();
  }
}

function copyRange(from: number, to: number, start: number, end: number): void {
  const buf = Buffer.alloc(end - start);
  readSync(from, buf, 0, buf.length, start);
  writeSync(to, buf, 0, buf.length, start);
}

/** What a reader prints for version `version` holding the bytes of tool version `content`. */
function seen(version: number, content: number, recovered: boolean): DbufView {
  const bytes = dbufVersion(content);
  return { version, length: bytes.length, intact: version === content, recovered, crc: crc32(bytes) };
}

function readHalf(fd: number, half: number): Uint8Array {
  const buf = Buffer.alloc(dbufVersion(1).length);
  readSync(fd, buf, 0, buf.length, TAIL_BASE + REGION + half * CAPACITY + HEADER);
  return buf;
}

async function everyReaderSees(t: Test, readers: Client[], fd: number, want: DbufView, what: string): Promise<void> {
  for (const reader of readers) t.same(await readVersion(reader, fd), want, `${what}: ${nameOf(reader)} reads version ${want.version}`);
}

t.test('a capture copies the tail while the writer moves on: every client reads the intact half of the restored image', async (t) => {
  const clients: Client[] = ['node', ...clientTools(t)];
  t.equal(readLayout(headerOf(t)).layout.tailBase, TAIL_BASE, 'the geometry the region was placed for');
  for (const writer of clients) {
    const fd = memoryFile(t, SIZE, true);
    await writeVersions(t, writer, fd, 3); // version 3 in half 0
    const store = await SnapshotStore.open(scratchDir(t, 'dbuf'), { keep: 2, chain: { maxChain: 0 } });
    t.teardown(() => store.close());
    let acted = false;
    const { generation } = await capture(fd, store, 'interval', {
      // After the scans, before the region is read: version 4 committed
      // (half 1), version 5 under way over half 0.
      throttle: async ({ phase }) => {
        if (phase !== 'tail' || acted) return;
        acted = true;
        await writeVersions(t, writer, fd, 1);
        tear(fd, 0);
      },
    });
    t.ok(acted, `${nameOf(writer)} moved on during the tail copy`);
    t.equal(generation.manifest.records, 3, 'the image holds the records of versions 1 to 3, not 4');
    const restored = memoryFile(t, SIZE);
    await restoreImage(generation, restored, 0);
    await everyReaderSees(t, clients, restored, seen(4, 4, true), `written by ${nameOf(writer)}`);
  }
});

t.test('the named half torn, the other read before the writer reached it: every client falls back to the previous version', async (t) => {
  const clients: Client[] = ['node', ...clientTools(t)];
  for (const writer of clients) {
    const live = memoryFile(t, SIZE);
    await writeVersions(t, writer, live, 2); // version 2 in half 1
    const image = memoryFile(t, SIZE);
    copyRange(live, image, 0, SIZE); // the rings and half 0, as the capture read them
    await writeVersions(t, writer, live, 1); // version 3 over half 0
    tear(live, 1); // version 4 under way over half 1
    const half1 = TAIL_BASE + REGION + CAPACITY;
    copyRange(live, image, half1, half1 + CAPACITY); // half 1, read later
    await everyReaderSees(t, clients, image, seen(1, 1, true), `written by ${nameOf(writer)}`);
    // The next writer keeps version 1 and writes over the torn half: version
    // 3 (after the record's 2), holding what it made of version 1 (its own
    // counter says 2); then every client continues from there.
    await writeVersions(t, writer, image, 1);
    await everyReaderSees(t, clients, image, seen(3, 2, false), `${nameOf(writer)} wrote after the fallback`);
    t.same([...readHalf(image, 0)], [...dbufVersion(1)], 'version 1 is still in half 0');
    for (const [k, next] of clients.entries()) {
      await writeVersions(t, next, image, 1);
      await everyReaderSees(t, clients, image, seen(4 + k, 4 + k, false), `${nameOf(next)} continued`);
    }
  }
});

function headerOf(t: Test): Uint8Array {
  const fd = memoryFile(t, SIZE);
  attach({ fd, env: {}, slots: SLOTS, ringSize: RING }).close();
  const mapping = Mapping.map(fd, SIZE);
  t.teardown(() => mapping.close());
  return mapping.bytes;
}
