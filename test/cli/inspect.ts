// list, show, verify and cat against snapshot directories written by real
// captures of a real memory file; beside a host that keeps writing; on a
// directory they may only read.
import fs from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { recordData, writeGenerations, writeRawGeneration, type WrittenGeneration } from '../../fixtures/cli-store.js';
import { attach } from '../../src/client/index.js';
import { capture, createSharedFile } from '../../src/live/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { BIN, hostDir, isOneLineError, runBin, runCli, startHost } from './harness.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const concat = (parts: readonly Uint8Array[]): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)));

/** A directory with three generations (4, 8, 12 records), the raw data of each. */
async function threeGenerations(t: Test, options = {}): Promise<{ base: string; dir: string; written: WrittenGeneration[] }> {
  // testdir() empties the directory on each call: call it once per test.
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  const written = await writeGenerations(dir, { generations: 3, ...options });
  return { base, dir, written };
}

t.test('list: newest first, as a table and as JSON', async (t) => {
  const { dir, written } = await threeGenerations(t, { maxChain: 3 });
  const text = await runCli(['list', '--dir', dir]);
  t.equal(text.code, 0);
  t.equal(text.stderr, '');
  const lines = text.out.trim().split('\n');
  t.match(lines[0], /^SEQ\s+TIME\s+REASON\s+KIND\s+PARENT\s+SIZE\s+ON DISK\s+CHECK\s+RECORDS\s+LATEST\s+LENGTH\s+IMAGE$/);
  t.same(lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[0])), [3, 2, 1]);
  t.match(lines[1], /interval\s+delta\s+2\s+64 KiB\s+\S+ \S+\s+unchecked\s+12\s+264\s+24\s+\S+gen-0000000000000003\.delta$/);
  t.match((await runCli(['show', 'latest', '--dir', dir])).out, /\n  kind: +delta of generation 2\n  blocks: +16 blocks of 4096 bytes: the head's 16 \(header and rings, up to the next 64 KiB boundary\) held whole, changed or not \(\d+ stored in its file, \d+ as zeros\); none changed in the tail; none from generation 2\n  chain: +2 deltas \(.* in delta files\) over a full generation\n/, 'show says a delta is one, and of what');
  t.match((await runCli(['show', '1', '--dir', dir])).out, /\n  kind: +full \(a whole image\)\n  chain: +none/);

  const json = await runCli(['list', '--dir', dir, '--json']);
  t.equal(json.code, 0);
  const doc = JSON.parse(json.out);
  t.equal(doc.dir, dir);
  t.same(doc.generations.map((g: any) => g.sequence), [3, 2, 1]);
  const newest = doc.generations[0];
  const last = written[2]!.records.at(-1)!;
  t.same(
    { reason: newest.reason, records: newest.records, latest: newest.latest, state: newest.state, problem: newest.problem, configured: newest.configured },
    { reason: 'interval', records: 12, latest: { offset: last.offset.toString(), length: 24 }, state: 'unchecked', problem: null, configured: true },
  );
  t.type(newest.writeOffset, 'string', 'offsets are decimal strings');
  t.equal(newest.image, written[2]!.imagePath);
  t.match(newest.checksum, { algorithm: String, value: String });

  const verified = JSON.parse((await runCli(['list', '--dir', dir, '--json', '--verify'])).out);
  t.same(verified.generations.map((g: any) => g.state), ['ok', 'ok', 'ok']);
});

t.test('show: text and JSON carry the same facts: kind, parent, chain, bytes on disk (as list has them)', async (t) => {
  // 256 KiB: past the first 64 KiB (which a delta holds whole), the parent gives the blocks that did not change.
  const { dir } = await threeGenerations(t, { maxChain: 3, size: 256 * 1024 });
  const list = JSON.parse((await runBin(['list', '--dir', dir, '--json'])).out);
  for (const row of list.generations) {
    const [text, json] = await Promise.all([runBin(['show', String(row.sequence), '--dir', dir]), runBin(['show', String(row.sequence), '--dir', dir, '--json'])]);
    const doc = JSON.parse(json.out);
    const m = doc.manifest;
    t.same([m.kind, m.parent, doc.diskBytes], [row.kind, row.parent, row.diskBytes], `generation ${row.sequence}: JSON as list says`);
    t.ok(row.diskBytes > 0);
    const field = (name: string): string => new RegExp(`\\n  ${name}: +([^\\n]*)\\n`).exec(text.out)?.[1] ?? '';
    t.match(field('on disk'), new RegExp(`\\(${doc.diskBytes} bytes\\)$`), `generation ${row.sequence}: on disk`);
    if (m.kind === 'full') {
      t.equal(field('kind'), 'full (a whole image)');
      t.equal(field('blocks'), '', 'a full generation has no blocks line: its image file has every block');
      t.equal(doc.blocks, null);
      t.same([m.parent, m.chain.links], [null, 0]);
      t.match(field('chain'), /^none/);
    } else {
      t.equal(field('kind'), `delta of generation ${m.parent}`);
      // The blocks the file stores, those it holds as zeros, and those the parent gives: never one count for all of them; the head's
      // (held whole, up to the 64 KiB boundary after the rings) apart from the tail's, which changed.
      const image = Math.ceil(m.imageSize / m.delta.blockSize);
      const headBlocks = Math.ceil(Math.min(m.imageSize, Math.ceil(doc.image.tail.offset / 65536) * 65536) / 4096);
      const b = doc.blocks;
      t.match(b, { blockSize: m.delta.blockSize, image, held: m.delta.held, stored: m.delta.stored, zeros: m.delta.held - m.delta.stored, fromParent: image - m.delta.held, pastParentEnd: 0 },
        `generation ${row.sequence}: JSON blocks`);
      t.same([b.head.blocks, b.head.held, b.head.stored + b.head.zeros], [headBlocks, headBlocks, headBlocks], `generation ${row.sequence}: the head held whole (${JSON.stringify(b.head)})`);
      t.same(b.tail, { changed: b.held - headBlocks, stored: b.stored - b.head.stored, zeros: b.zeros - b.head.zeros }, `generation ${row.sequence}: the tail's changed blocks`);
      t.ok(b.stored < b.image && b.fromParent > 0, `generation ${row.sequence}: a delta that stores part of the image (${JSON.stringify(b)})`);
      const tail = b.tail.changed === 0 ? 'none changed in the tail' : `${b.tail.changed} changed in the tail (${b.tail.stored} stored, ${b.tail.zeros} set to zeros)`;
      t.equal(field('blocks'), `${image} blocks of 4096 bytes: the head's ${headBlocks} (header and rings, up to the next 64 KiB boundary) held whole, changed or not `
        + `(${b.head.stored} stored in its file, ${b.head.zeros} as zeros); ${tail}; the other ${b.fromParent} from generation ${m.parent}`, `generation ${row.sequence}: text blocks`);
      t.match(field('chain'), new RegExp(`^${m.chain.links} deltas? \\(`), `generation ${row.sequence}: chain length`);
    }
  }
});

t.test('show: a delta\'s head, held whole, is told apart from the tail\'s changed blocks: zeros it holds there are not called changed', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  const store = await SnapshotStore.open(dir, { keep: 10, chain: { maxChain: 3, maxChainRatio: 10 } });
  const fd = createSharedFile(256 * 1024);
  const state = attach({ fd, slots: 16, ringSize: 8192 });
  try {
    fs.writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 100 * 1024);
    state.commit(recordData(1, 0, 24));
    await capture(fd, store, 'interval');
    // A record only: the rings change, the tail does not.
    state.commit(recordData(1, 1, 24));
    await capture(fd, store, 'interval');
    // The tail's block 25 set back to zeros, block 40 written.
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 100 * 1024);
    fs.writeSync(fd, Buffer.from('changed'), 0, 7, 160 * 1024);
    state.commit(recordData(1, 2, 24));
    await capture(fd, store, 'interval');
  } finally {
    state.close();
    fs.closeSync(fd);
    await store.close();
  }
  const show = async (sequence: number) => {
    const [text, json] = await Promise.all([runCli(['show', String(sequence), '--dir', dir]), runCli(['show', String(sequence), '--dir', dir, '--json'])]);
    t.equal(text.code, 0, text.stderr);
    return { line: /\n +blocks: +([^\n]*)\n/.exec(text.out)?.[1] ?? '', blocks: JSON.parse(json.out).blocks };
  };
  const rings = await show(2);
  const { head } = rings.blocks;
  t.ok(head.zeros > 0, `the head holds zero blocks (${JSON.stringify(head)}), zeros in generation 1 too`);
  t.same(rings.blocks, { blockSize: 4096, image: 64, held: 16, stored: head.stored, zeros: head.zeros, fromParent: 48, pastParentEnd: 0, head: { blocks: 16, held: 16, stored: head.stored, zeros: head.zeros }, tail: { changed: 0, stored: 0, zeros: 0 } });
  t.equal(rings.line, `64 blocks of 4096 bytes: the head's 16 (header and rings, up to the next 64 KiB boundary) held whole, changed or not (${head.stored} stored in its file, ${head.zeros} as zeros); none changed in the tail; the other 48 from generation 1`);
  t.notMatch(rings.line, /set to zeros/, 'no block is said to be set to zeros: none changed to zeros');
  const tail = await show(3);
  t.same(tail.blocks.tail, { changed: 2, stored: 1, zeros: 1 }, 'the tail: one block written, one set to zeros');
  t.match(tail.line, /; 2 changed in the tail \(1 stored, 1 set to zeros\); the other 46 from generation 2$/);
});

t.test('show: a delta of an image that grew counts the blocks past its parent\'s end, which it does not hold, as zeros, not as its parent\'s', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  const store = await SnapshotStore.open(dir, { keep: 10, chain: { maxChain: 3, maxChainRatio: 10 } });
  const fd = createSharedFile(64 * 1024);
  const state = attach({ fd, slots: 16, ringSize: 8192 });
  try {
    state.commit(recordData(1, 0, 24));
    await capture(fd, store, 'interval');
    // Grown to 128 KiB: one block past the old end written, the other 15 left zeros.
    fs.ftruncateSync(fd, 128 * 1024);
    fs.writeSync(fd, Buffer.from('past the old end'), 0, 16, 100 * 1024);
    state.commit(recordData(1, 1, 24));
    await capture(fd, store, 'interval');
  } finally {
    state.close();
    fs.closeSync(fd);
    await store.close();
  }
  const json = await runCli(['show', '2', '--json', '--dir', dir]);
  t.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.out);
  t.equal(doc.manifest.kind, 'delta', 'the grown capture is a delta');
  const { held, stored } = doc.manifest.delta;
  // Of 32 blocks: the first 16 are the parent's unless held; of the last 16 the delta holds the written one, the other 15 are zeros.
  // The head is the first 16 (the rings end before 64 KiB), held whole; the block written past the old end is the tail's one change.
  t.same(doc.blocks, {
    blockSize: 4096, image: 32, held, stored, zeros: held - stored, fromParent: 32 - held - 15, pastParentEnd: 15,
    head: { blocks: 16, held: 16, stored: stored - 1, zeros: held - stored }, tail: { changed: 1, stored: 1, zeros: 0 },
  });
  const text = await runCli(['show', '2', '--dir', dir]);
  const parent = 32 - held - 15 === 0 ? 'none from generation 1' : `the other ${32 - held - 15} from generation 1`;
  t.equal(/\n +blocks: +([^\n]*)\n/.exec(text.out)?.[1], `32 blocks of 4096 bytes: the head's 16 (header and rings, up to the next 64 KiB boundary) held whole, changed or not `
    + `(${stored - 1} stored in its file, ${held - stored} as zeros); 1 changed in the tail (1 stored, 0 set to zeros); 15 past the end of generation 1's image (zeros); ${parent}`);
  t.ok((await runCli(['cat', '2', '--tail', '--dir', dir])).stdout.includes('past the old end'), 'the image read through its chain holds the block written past the old end');
});

t.test('list: an empty directory, a damaged image, an unreadable manifest', async (t) => {
  const { base, dir, written } = await threeGenerations(t);
  const empty = join(base, 'empty');
  fs.mkdirSync(empty);
  t.same(await runCli(['list', '--dir', empty]).then((r) => [r.code, r.out]), [0, `no generations in ${empty} yet\n`]);
  t.same(JSON.parse((await runCli(['list', '--dir', empty, '--json'])).out), { dir: empty, generations: [], orphans: [] });

  const fd = fs.openSync(written[1]!.imagePath, 'r+');
  fs.writeSync(fd, Buffer.from([0xff]), 0, 1, 20000); // a byte of the tail
  fs.closeSync(fd);
  t.equal((await runCli(['list', '--dir', dir])).code, 0, 'unchecked: nothing looked at the image');
  const r = await runCli(['list', '--dir', dir, '--verify']);
  t.equal(r.code, 1, 'exit 1: a generation is bad');
  t.match(r.out, /^\s+2\s.*\sbad\s/m);
  t.match(r.out, /^generation 2: bad: checksum mismatch/m);
  fs.writeFileSync(join(dir, 'gen-0000000000000001.json'), '{"format":1,');
  const j = JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out);
  t.match(j.generations[2], { sequence: 1, state: 'bad', problem: /not valid JSON/, time: null, records: null });
});

t.test('show: manifest, header, records and tail of each kind of <ref>', async (t) => {
  const { base, dir, written } = await threeGenerations(t);
  const outside = join(base, 'copy.img');
  fs.copyFileSync(written[1]!.imagePath, outside);
  for (const ref of ['2', 'latest~1', written[1]!.imagePath, outside]) {
    const r = await runCli(['show', ref, '--dir', dir, '--json', '--slots']);
    t.equal(r.code, 0, `show ${ref}`);
    const doc = JSON.parse(r.out);
    const expected = written[1]!;
    t.same(doc.image.records.list.map((s: any) => [s.offset, s.length]), expected.records.map((x) => [x.offset.toString(), 24]), `${ref}: every valid slot`);
    t.equal(doc.image.records.count, 8);
    t.same(doc.image.records.newest, { slot: 7, offset: expected.records.at(-1)!.offset.toString(), length: 24 });
    t.match(doc.image.header, { magic: '0x96c2a6f4b68519b3', slots: 16, ringSize: 8192, writeOffset: '192' });
    t.same(doc.image.tail, { offset: expected.tailBase, size: 65536 - expected.tailBase });
    if (ref === outside) {
      t.same([doc.source.kind, doc.manifest, doc.sequence], ['image', null, null], 'a bare image has no manifest');
    } else {
      t.same([doc.source.kind, doc.sequence, doc.manifest.records], ['generation', 2, 8]);
    }
  }
  const latest = JSON.parse((await runCli(['show', 'latest', '--dir', dir, '--json'])).out);
  t.same(latest.image.header.extension, { present: true, durableOffset: '192', snapshotSeq: '2' }, 'the host words published after generation 2');
  t.notOk('list' in latest.image.records, 'no slot list without --slots');

  const text = await runCli(['show', 'latest', '--dir', dir, '--slots']);
  t.equal(text.code, 0);
  t.match(text.out, /^generation 3 in /);
  t.match(text.out, /durable_offset: 192 \(snapshot 2\)/);
  t.match(text.out, /valid:\s+12\n\s+oldest:\s+offset 0, 24 bytes \(slot 0\)/);
  t.match(text.out, /slots \(oldest first\)\n\s+SLOT\s+OFFSET\s+LENGTH\n\s+0\s+0\s+24\n/);
});

t.test('show: a raw generation, and refs that do not resolve', async (t) => {
  const { dir } = await threeGenerations(t);
  await writeRawGeneration(dir);
  const raw = JSON.parse((await runCli(['show', 'latest', '--dir', dir, '--json'])).out);
  t.same([raw.manifest.configured, raw.image.configured, raw.image.header], [false, false, null]);
  const cases: Array<[string, RegExp]> = [
    ['latest~9', /^shm-host: latest~9 does not exist: .* holds 4 generations \(use latest~0 to latest~3; see shm-host list\)\n$/],
    ['99', /^shm-host: there is no generation 99 in .* \(list the generations to see which exist\)\n$/],
    ['./no-such.img', /^shm-host: no such file: \.\/no-such\.img \(a <ref> is/],
    [dir, /is a directory, not an image \(to inspect a snapshot directory use --dir/],
  ];
  for (const [ref, expected] of cases) {
    const r = await runCli(['show', ref, '--dir', dir]);
    t.equal(r.code, 1, ref);
    t.match(r.stderr, expected, ref);
    t.ok(isOneLineError(r.stderr));
  }
  const empty = `${dir}-empty`;
  fs.mkdirSync(empty);
  const none = await runCli(['show', 'latest', '--dir', empty]);
  t.match(none.stderr, /there are no generations in .* yet \(a host stores one once its child has committed/);
});

t.test('show and cat refuse a damaged image with one line', async (t) => {
  const { base, written } = await threeGenerations(t);
  const bad = join(base, 'bad.img');
  const bytes = fs.readFileSync(written[0]!.imagePath);
  bytes.writeBigUInt64LE(0xffffn, 16); // data_mask: a ring larger than the file
  fs.writeFileSync(bad, bytes);
  for (const argv of [['show', bad], ['cat', bad], ['verify', bad]]) {
    const r = await runCli(argv);
    t.equal(r.code, 1);
    t.match(r.stderr, argv[0] === 'verify' ? /^$/ : /^shm-host: image .*bad\.img is damaged: invalid layout: 16 entry slots and a 65536-byte data ring need 73728 bytes, but the file has 65536 \(check that the file is a shm-host snapshot image or export\)\n$/);
    if (argv[0] === 'verify') t.match(r.out, /^image .*bad\.img: bad: invalid layout: 16 entry slots and a 65536-byte data ring/);
  }
});

t.test('verify: one generation, all, and what is wrong with each', async (t) => {
  const { base, dir, written } = await threeGenerations(t);
  t.same(await runCli(['verify', '--dir', dir]).then((r) => [r.code, r.out]), [0, 'generation 3: ok\n'], 'default: latest');
  t.same(await runCli(['verify', '--all', '--dir', dir]).then((r) => [r.code, r.out]), [0, 'generation 3: ok\ngeneration 2: ok\ngeneration 1: ok\n']);
  // Damage generation 2: one record's bytes.
  const fd = fs.openSync(written[1]!.imagePath, 'r+');
  fs.writeSync(fd, Buffer.from('XX'), 0, 2, 8192 + 30);
  fs.closeSync(fd);
  fs.truncateSync(written[0]!.imagePath, 40000);
  const all = await runCli(['verify', '--all', '--dir', dir]);
  t.equal(all.code, 1);
  t.match(all.out, /^generation 3: ok\ngeneration 2: bad: checksum mismatch: image gen-0000000000000002\.img changed after it was written .*\ngeneration 1: bad: image gen-0000000000000001\.img has 40000 bytes but its manifest says 65536 \(truncated or replaced\)\n$/);
  const json = JSON.parse((await runCli(['verify', '2', '--dir', dir, '--json'])).out);
  t.match(json, { ok: false, results: [{ kind: 'generation', sequence: 2, ok: false, problem: /^checksum mismatch/ }] });
  const outside = join(base, 'copy.img');
  fs.copyFileSync(written[2]!.imagePath, outside);
  t.same(await runCli(['verify', outside]).then((r) => [r.code, r.out]), [0, `image ${outside}: ok\n`], 'a bare image: layout and records');
});

for (const [kind, options] of [['full', {}], ['delta', { maxChain: 3 }]] as const) t.test(`cat: records raw, hex, base64, JSON; the tail (${kind} generations)`, async (t) => {
  const { dir, written } = await threeGenerations(t, options);
  const records = written[2]!.records;
  const latest = await runCli(['cat', 'latest', '--dir', dir]);
  t.equal(latest.code, 0);
  t.equal(hex(latest.stdout), hex(records.at(-1)!.bytes), 'the latest record, raw');
  t.equal(hex(latest.stdout), hex(recordData(3, 3, 24)), 'as the writer committed it');
  t.equal(hex((await runCli(['cat', 'latest', '--record', 'all', '--dir', dir])).stdout), hex(concat(records.map((r) => r.bytes))), 'all, oldest first');
  const middle = records[5]!;
  t.equal(hex((await runCli(['cat', '3', '--record', middle.offset.toString(), '--dir', dir])).stdout), hex(middle.bytes));
  t.equal((await runCli(['cat', 'latest', '--record', 'all', '--format', 'hex', '--dir', dir])).out, records.map((r) => `${hex(r.bytes)}\n`).join(''));
  t.equal((await runCli(['cat', 'latest', '--format', 'base64', '--dir', dir])).out, `${Buffer.from(records.at(-1)!.bytes).toString('base64')}\n`);
  t.same(JSON.parse((await runCli(['cat', 'latest', '--json', '--dir', dir])).out), {
    offset: records.at(-1)!.offset.toString(), length: 24, base64: Buffer.from(records.at(-1)!.bytes).toString('base64'),
  });
  const all = JSON.parse((await runCli(['cat', 'latest', '--record', 'all', '--json', '--dir', dir])).out);
  t.same(all.map((r: any) => r.offset), records.map((r) => r.offset.toString()));

  const tail = await runCli(['cat', 'latest', '--tail', '--dir', dir]);
  t.equal(tail.stdout.length, 65536 - written[2]!.tailBase);
  t.equal(tail.stdout.subarray(0, 6).toString(), 'tail 3');
  t.ok(tail.stdout.subarray(6).every((b) => b === 0));
  t.equal(Buffer.from((await runCli(['cat', 'latest', '--tail', '--format', 'base64', '--dir', dir])).out.trim(), 'base64').compare(tail.stdout), 0, 'base64 tail round-trips');
  t.equal(Buffer.from((await runCli(['cat', 'latest', '--tail', '--format', 'hex', '--dir', dir])).out.trim(), 'hex').compare(tail.stdout), 0, 'hex tail round-trips');
  const tailJson = JSON.parse((await runCli(['cat', 'latest', '--tail', '--json', '--dir', dir])).out);
  t.same([tailJson.offset, tailJson.length], [written[2]!.tailBase, tail.stdout.length]);

  const missing = await runCli(['cat', 'latest', '--record', '5', '--dir', dir]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^shm-host: generation 3 has no valid record at offset 5 \(list the valid offsets with shm-host show <ref> --slots\)\n$/);
  t.equal((await runCli(['cat', 'latest', '--record', '99999999999999999999999', '--dir', dir])).code, 2);
});

t.test('cat: records that wrap around the ring end come out whole', async (t) => {
  const dir = join(t.testdir(), 'wrap');
  // A 256-byte ring and 24-byte records: the ring wraps every ten records or so.
  const written = await writeGenerations(dir, { generations: 4, perGeneration: 5, ringSize: 256, slots: 16, recordSize: 24 });
  const records = written[3]!.records;
  const wrapped = records.filter((r) => (r.offset % 256n) + 24n > 256n);
  t.ok(wrapped.length > 0, `${wrapped.length} records cross the ring's end`);
  const all = await runCli(['cat', 'latest', '--record', 'all', '--dir', dir]);
  t.equal(hex(all.stdout), hex(concat(records.map((r) => r.bytes))));
  for (const r of wrapped) t.equal(hex((await runCli(['cat', 'latest', '--record', r.offset.toString(), '--dir', dir])).stdout), hex(r.bytes));
});

t.test('cat: no records, and a raw capture', async (t) => {
  const dir = join(t.testdir(), 'empty-ring');
  await writeGenerations(dir, { generations: 1, perGeneration: 0 });
  const none = await runCli(['cat', 'latest', '--dir', dir]);
  t.equal(none.code, 1);
  t.match(none.stderr, /generation 1 holds no valid record \(the child had committed nothing/);
  t.same(await runCli(['cat', 'latest', '--record', 'all', '--dir', dir]).then((r) => [r.code, r.stdout.length]), [0, 0]);
  t.same(JSON.parse((await runCli(['cat', 'latest', '--record', 'all', '--json', '--dir', dir])).out), []);
  await writeRawGeneration(dir);
  const raw = await runCli(['cat', 'latest', '--tail', '--dir', dir]);
  t.equal(raw.code, 1);
  t.match(raw.stderr, /generation 2 is a raw capture of a file no writer configured: it has no records and no tail/);
});

/** Runs `sh -c script` with `dir` mounted read-only in a mount namespace of its own; null when this machine cannot. */
async function withReadOnlyMount(dir: string, script: string): Promise<{ stdout: string; stderr: string; exitCode?: number } | null> {
  const probe = await execa('unshare', ['-m', 'true'], { reject: false });
  if (probe.exitCode !== 0) return null;
  return execa('unshare', ['-m', 'sh', '-c', `mount --bind -o ro "$0" "$0" && ${script}`, dir], { reject: false });
}

t.test('the reading commands work on a read-only directory; import and prune say why they cannot', async (t) => {
  const { dir } = await threeGenerations(t);
  const script = [
    `node ${BIN} list --dir "$0" --verify >/dev/null || echo "list failed"`,
    `node ${BIN} show latest --dir "$0" >/dev/null || echo "show failed"`,
    `node ${BIN} verify --all --dir "$0" >/dev/null || echo "verify failed"`,
    `node ${BIN} cat latest --dir "$0" | od -An -tx1 | tr -d ' \\n'; echo`,
    `touch "$0/x" 2>/dev/null && echo "writable?!"`,
    `node ${BIN} prune --keep 2 --dir "$0"; echo "prune=$?"`,
  ].join('; ');
  const r = await withReadOnlyMount(dir, script);
  if (r === null) {
    t.plan(0, 'mount namespaces are not available here');
    return;
  }
  t.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], hex(recordData(3, 3, 24)), 'list, show, verify, cat all succeeded');
  t.equal(lines[1], 'prune=2', 'a read-only snapshot directory is a problem of --dir: exit 2');
  t.match(r.stderr, /^shm-host: cannot write the lock file .*: the file system is read-only \(EROFS\)/m);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack');
});

t.test('the reading commands work as a user who may only read the directory', async (t) => {
  if (process.getuid?.() !== 0) {
    t.plan(0, 'needs root to switch to another user');
    return;
  }
  // The other user must reach the program itself: a checkout inside a
  // private (0700) directory cannot be run by anyone else.
  const reach = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', BIN], { reject: false });
  if (reach.exitCode !== 0) {
    t.plan(0, `user nobody cannot read ${BIN} (the checkout is in a private directory); the read-only mount test covers this case`);
    return;
  }
  const dir = fs.mkdtempSync('/tmp/shm-cli-ro-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755);
  const store = join(dir, 's');
  await writeGenerations(store, { generations: 2 });
  await execa('chown', ['-R', 'nobody', store]);
  for (const f of fs.readdirSync(store)) fs.chmodSync(join(store, f), 0o400);
  fs.chmodSync(store, 0o500);
  // Without the test runner's hooks (it adds them to NODE_OPTIONS of every child): they write files this user may not write.
  const as = (argv: string[]) =>
    execa('sh', ['-c', 'unset NODE_OPTIONS; exec "$@"', 'sh', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'node', BIN, ...argv], { reject: false });
  const [list, show, verify, cat, prune] = await Promise.all([
    as(['list', '--dir', store, '--verify']),
    as(['show', 'latest', '--dir', store]),
    as(['verify', '--all', '--dir', store]),
    as(['cat', 'latest', '--format', 'hex', '--dir', store]),
    as(['prune', '--keep', '2', '--dir', store]),
  ]);
  t.same([list.exitCode, show.exitCode, verify.exitCode, cat.exitCode], [0, 0, 0, 0], `${list.stderr}${show.stderr}${verify.stderr}${cat.stderr}`);
  t.equal(cat.stdout, hex(recordData(2, 3, 24)));
  t.equal(prune.exitCode, 2, 'a directory this user may not write is a problem of --dir: exit 2');
  t.ok(isOneLineError(`${prune.stderr}\n`), prune.stderr);
});

t.test('beside a host that keeps capturing and pruning, reading commands see whole generations only', async (t) => {
  const dir = hostDir(t);
  await startHost(t, dir, '--interval', '15', '--commit-every', '1', '--keep', '2');
  const firstDeadline = Date.now() + 10_000;
  while (JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out).generations.length === 0) {
    if (Date.now() > firstDeadline) throw new Error('the host stored no generation within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  const deadline = Date.now() + 1500;
  let rounds = 0;
  let lastCounter = 0n;
  while (Date.now() < deadline || rounds < 20) {
    const [list, show, verify, all, cat] = await Promise.all([
      runCli(['list', '--dir', dir, '--json']),
      runCli(['show', 'latest', '--dir', dir, '--json']),
      runCli(['verify', 'latest', '--dir', dir]),
      runCli(['verify', '--all', '--dir', dir, '--json']),
      runCli(['cat', 'latest', '--dir', dir]),
    ]);
    for (const [name, r] of Object.entries({ list, show, verify, all, cat })) {
      if (r.code !== 0) t.fail(`${name} exited ${r.code}: ${r.stderr}${r.out}`);
    }
    t.ok(JSON.parse(all.out).results.every((r: any) => r.ok));
    t.equal(cat.stdout.length, 16);
    const counter = cat.stdout.readBigUInt64LE(0);
    t.ok(counter >= 1n, 'a counter the host committed');
    lastCounter = counter > lastCounter ? counter : lastCounter;
    rounds += 1;
  }
  t.ok(rounds >= 20, `${rounds} rounds while the host wrote`);
  t.ok(lastCounter > 1n, 'the host was writing');
});
