// A damaged newest generation: the store falls back to the one before and
// says why; with nothing good left it says so. Images and manifests are
// untrusted input: no byte pattern makes list/verify/newestVerified throw.
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { closeSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import {
  ENTRY_MASK_AT, DATA_MASK_AT, MAGIC_AT, WRITE_OFFSET_AT, readLayout, slotAt,
} from '../../src/format/index.js';
import { SnapshotStore, checksumOfFile, chunkSizeOf, type Generation } from '../../src/store/index.js';
import { capture } from '../../src/live/index.js';
import { commitRecords, liveFile, scratchDir } from './helpers.js';

/** A store holding generations 1..3 of a live file with records and a tail. */
async function threeGenerations(t: Test): Promise<{ dir: string; store: SnapshotStore; newest: Generation }> {
  const dir = scratchDir(t, 'corrupt');
  const { fd, state } = liveFile(t, 256 * 1024, 64, 64 * 1024);
  const store = await SnapshotStore.open(dir, { keep: 5, chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  let newest: Generation | null = null;
  for (let i = 0; i < 3; i++) {
    commitRecords(state, 20, `gen ${i}`);
    state.tail.set(new TextEncoder().encode(`tail of generation ${i + 1}`));
    newest = (await capture(fd, store, 'interval')).generation;
  }
  return { dir, store, newest: newest! };
}

function patchFile(path: string, at: number, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

const u64 = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

function rewriteManifest(g: Generation, change: (m: Record<string, unknown>) => void): void {
  const m = JSON.parse(readFileSync(g.manifestPath, 'utf8')) as Record<string, unknown>;
  change(m);
  writeFileSync(g.manifestPath, JSON.stringify(m));
}

/** After a hostile edit of the image, a manifest that matches its bytes: only the layout check can refuse it. */
async function resealChecksum(g: Generation): Promise<void> {
  const fd = openSync(g.imagePath, 'r');
  const value = await checksumOfFile(fd, g.manifest.imageSize, undefined, chunkSizeOf(g.manifest.checksum.algorithm)!);
  closeSync(fd);
  rewriteManifest(g, (m) => { m.checksum = { algorithm: g.manifest.checksum.algorithm, value }; });
}

const layoutOf = (g: Generation) => readLayout(new Uint8Array(readFileSync(g.imagePath))).layout;

const cases: Array<[string, (g: Generation) => void | Promise<void>, RegExp]> = [
  ['a flipped byte in the data ring', (g) => {
    const layout = layoutOf(g);
    const at = layout.dataBase + 10;
    const old = readFileSync(g.imagePath)[at]!;
    patchFile(g.imagePath, at, Uint8Array.of(old ^ 0x01));
  }, /^checksum mismatch: image gen-0000000000000003\.img changed after it was written/],
  ['a flipped byte in a hole', (g) => patchFile(g.imagePath, g.manifest.imageSize - 100, Uint8Array.of(1)), /^checksum mismatch/],
  ['a flipped slot length (still a valid layout)', async (g) => {
    const layout = layoutOf(g);
    const image = readFileSync(g.imagePath);
    const at = slotAt(layout, 0) + 8;
    patchFile(g.imagePath, at, Uint8Array.of(image[at]! ^ 0x80));
  }, /./],
  ['a truncated image', (g) => truncateSync(g.imagePath, 5000), /^image gen-0000000000000003\.img has 5000 bytes but its manifest says 262144 \(truncated or replaced\)$/],
  ['an empty image', (g) => truncateSync(g.imagePath, 0), /has 0 bytes but its manifest says/],
  ['a missing image', (g) => rmSync(g.imagePath), /^image gen-0000000000000003\.img is missing$/],
  ['a truncated manifest', (g) => writeFileSync(g.manifestPath, readFileSync(g.manifestPath).subarray(0, 40)), /not valid JSON \(truncated or overwritten\?\)/],
  ['a garbage manifest', (g) => writeFileSync(g.manifestPath, Buffer.from([0xff, 0x00, 0x13, 0x37])), /not valid JSON/],
  ['an empty manifest', (g) => writeFileSync(g.manifestPath, ''), /^the manifest is empty$/],
  ['a manifest that is not an object', (g) => writeFileSync(g.manifestPath, '[1,2,3]'), /not a JSON object/],
  ['a manifest whose size disagrees', (g) => rewriteManifest(g, (m) => { m.imageSize = 262144 + 4096; }), /has 262144 bytes but its manifest says 266240/],
  ['a manifest whose checksum disagrees', (g) => rewriteManifest(g, (m) => { m.checksum = { algorithm: 'xxh3-64/chunks-1MiB', value: '0123456789abcdef' }; }), /^checksum mismatch: .* \(manifest 0123456789abcdef, image [0-9a-f]{16}\)$/],
  ['a manifest with an unknown checksum algorithm', (g) => rewriteManifest(g, (m) => { m.checksum = { algorithm: 'crc-1', value: '00' }; }), /unknown checksum algorithm "crc-1"/],
  ['a manifest of another sequence', (g) => rewriteManifest(g, (m) => { m.sequence = 2; }), /says sequence 2, but its file name says 3/],
  ['a manifest of a future format', (g) => rewriteManifest(g, (m) => { m.format = 3; }), /unknown manifest format 3/],
  ['a manifest with a bad latest record', (g) => rewriteManifest(g, (m) => { m.latest = { offset: '-1', length: 3 }; }), /invalid latest record/],
  ['a manifest whose record count disagrees', (g) => rewriteManifest(g, (m) => { m.records = 7; }), /holds \d+ records but its manifest says 7/],
  ['a manifest that moved the latest record', (g) => rewriteManifest(g, (m) => { m.latest = { offset: '1', length: 1 }; }), /latest record \(offset \d+, \d+ bytes\) is not the manifest's \(offset 1, 1 bytes\)/],
  ['a manifest with another write_offset', (g) => rewriteManifest(g, (m) => { m.writeOffset = '1'; }), /write_offset \d+ is not the manifest's 1/],
  ['a manifest saying the file was never configured', (g) => rewriteManifest(g, (m) => { m.configured = false; m.records = 0; m.latest = null; }), /configured but its manifest says it was captured raw/],
  ['a hostile entry mask', async (g) => { patchFile(g.imagePath, ENTRY_MASK_AT, u64(5n)); await resealChecksum(g); }, /^entry_mask 0x5 is not a power of two minus one$|invalid layout: entry_mask 0x5/],
  ['a data ring that does not fit', async (g) => { patchFile(g.imagePath, DATA_MASK_AT, u64((1n << 40n) - 1n)); await resealChecksum(g); }, /need \d+ bytes, but the file has 262144/],
  ['an entry ring that does not fit', async (g) => { patchFile(g.imagePath, ENTRY_MASK_AT, u64((1n << 62n) - 1n)); await resealChecksum(g); }, /need \d+ bytes, but the file has 262144/],
  ['a foreign magic', async (g) => { patchFile(g.imagePath, MAGIC_AT, u64(0x1234n)); await resealChecksum(g); }, /not a shm-host file: magic is 0x1234/],
  ['a zero magic under a configured manifest', async (g) => { patchFile(g.imagePath, MAGIC_AT, u64(0n)); await resealChecksum(g); }, /not configured \(magic is zero\) but its manifest says it is/],
  ['a record longer than the ring', async (g) => {
    patchFile(g.imagePath, slotAt(layoutOf(g), 3) + 8, u64(1n << 20n));
    await resealChecksum(g);
  }, /slot 3 holds a 1048576-byte record, but the data ring has only 65536 bytes/],
  ['a record running past the u64 stream', async (g) => {
    const at = slotAt(layoutOf(g), 3);
    patchFile(g.imagePath, at, u64(0xffff_ffff_ffff_fff0n));
    patchFile(g.imagePath, at + 8, u64(100n));
    await resealChecksum(g);
  }, /runs past the end of the u64 stream/],
  ['overlapping records', async (g) => {
    const layout = layoutOf(g);
    const image = new Uint8Array(readFileSync(g.imagePath));
    const view = new DataView(image.buffer);
    const first = view.getBigUint64(slotAt(layout, 0), true);
    patchFile(g.imagePath, slotAt(layout, 1), u64(first + 1n));
    await resealChecksum(g);
  }, /overlap/],
  ['a write_offset the manifest does not know', async (g) => { patchFile(g.imagePath, WRITE_OFFSET_AT, u64(7n)); await resealChecksum(g); }, /write_offset 7 is not the manifest's/],
];

for (const [name, damage, reason] of cases) {
  t.test(`newest generation with ${name}: falls back to the one before`, async (t) => {
    const { store, newest } = await threeGenerations(t);
    await damage(newest);
    const found = await store.newestVerified();
    t.equal(found.generation?.sequence, 2, 'restores generation 2');
    t.equal(found.skipped.length, 1);
    t.equal(found.skipped[0]!.sequence, 3);
    t.match(found.skipped[0]!.reason, reason);
    t.notMatch(found.skipped[0]!.reason, /\n/, 'the reason is one line');
    // verify() of the damaged generation says the same (when its manifest reads).
    const listed = (await store.list())[0]!;
    if (listed.ok) t.same(await store.verify(listed), { ok: false, reason: found.skipped[0]!.reason });
  });
}

t.test('with no good generation left, it says so for each', async (t) => {
  const { store, dir } = await threeGenerations(t);
  const all = await store.list();
  writeFileSync(all[0]!.manifestPath, 'nonsense');
  truncateSync(all[1]!.imagePath, 100);
  rmSync(all[2]!.imagePath);
  const found = await store.newestVerified();
  t.equal(found.generation, null);
  t.same(found.skipped.map((s) => s.sequence), [3, 2, 1]);
  t.match(found.skipped[0]!.reason, /not valid JSON/);
  t.match(found.skipped[1]!.reason, /has 100 bytes/);
  t.match(found.skipped[2]!.reason, /is missing/);
  t.ok(dir);
});

t.test('hostile bytes anywhere in the header and entry ring never make verify throw', async (t) => {
  const { store, newest } = await threeGenerations(t);
  const pristine = readFileSync(newest.imagePath);
  const layout = layoutOf(newest);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(layout.dataBase / 8 - 1), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      async (edits, reseal) => {
        writeFileSync(newest.imagePath, pristine);
        for (const [word, value] of edits) patchFile(newest.imagePath, word * 8, u64(value));
        if (reseal) await resealChecksum(newest);
        const verdict = await store.verify((await store.list())[0] as Generation);
        const found = await store.newestVerified();
        // Either the edit happens to keep a valid image or it is refused with a reason.
        if (!verdict.ok) {
          if (typeof verdict.reason !== 'string' || verdict.reason === '' || verdict.reason.includes('\n')) return false;
          return found.generation?.sequence === 2;
        }
        return found.generation?.sequence === 3;
      },
    ),
    { numRuns: 60 },
  );
  t.pass('every hostile image got a verdict');
});

t.test('hostile manifests never make list or newestVerified throw', async (t) => {
  const { store, newest } = await threeGenerations(t);
  const text = readFileSync(newest.manifestPath, 'utf8');
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string(),
        fc.json(),
        fc.jsonValue().map((v) => JSON.stringify({ ...JSON.parse(text), ...(typeof v === 'object' && v !== null && !Array.isArray(v) ? v : { records: v }) })),
        fc.nat(text.length).map((n) => text.slice(0, n)),
      ),
      async (manifest) => {
        writeFileSync(newest.manifestPath, manifest);
        const listed = await store.list();
        const found = await store.newestVerified();
        const first = listed[0]!;
        return first.sequence === 3 && (found.generation?.sequence === 3 || found.generation?.sequence === 2) && (first.ok || first.reason.length > 0);
      },
    ),
    { numRuns: 80 },
  );
  t.pass('every hostile manifest got a verdict');
});
