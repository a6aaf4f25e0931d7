// Capture benchmarks (npm run bench:capture), each against a baseline taken
// in the same run, alternating with it so that both see the same machine:
//   full files   capture of a fully written 64 MiB and 1 GiB memory file into
//                the store, vs a plain copy of the same file into a file on
//                the same file system (sendfile, one fsync): throughput ratio
//   sparse file  capture of a 1 GiB memory file holding 10 MiB, vs the plain
//                copy of a 10 MiB file: time ratio
//   busy writer  captures back to back while the records fixture commits at
//                full speed, vs the same captures of the same file idle:
//                captures per second, and how many attempts were starved;
//                with 8 slots, also how many captures the host's retries store
// BENCH_QUICK=1 shortens every case (for a smoke run).
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attach } from '../src/client/index.js';
import { F_SEAL_SHRINK, addSeals, memfdCreate, sendfile } from '../src/sys/index.js';
import { SnapshotStore } from '../src/store/index.js';
import { CaptureError, type CaptureOptions } from '../src/live/index.js';
import { captureAsHost, closeAsHost } from './lib/as-host.js';
import { writeBenchmarkSection } from './lib/benchmarks-doc.js';
import { median } from './lib/median.js';
import { hashers } from './lib/hash-case.js';
import { sparseThroughHost } from './lib/host-sparse-case.js';
import { diskUnderRetention, everyBlockChanged, longestChainRestore, scatteredDelta } from './lib/delta-cases.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const quick = process.env.BENCH_QUICK === '1';
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
// Same file system as the store: the scratch directory holds both.
const scratch = mkdtempSync(join(root, '.bench-capture-'));

const fmt = (x: number, digits = 2): string => x.toFixed(digits);

/**
 * A memory file of `size` bytes as the host makes it (sealed against
 * shrinking), configured by a writer with `ring` bytes of data ring and
 * filled with records, then written with data from its tail on until
 * `data` bytes of the file hold data; the rest stays holes.
 */
function memoryFile(size: number, data: number, ring = 4 * MiB): number {
  const fd = memfdCreate('bench-capture');
  ftruncateSync(fd, size);
  addSeals(fd, F_SEAL_SHRINK);
  const state = attach({ fd, slots: Math.min(4096, ring / 64), ringSize: ring });
  for (let written = 0, i = 0; written < ring; written += 200, i++) state.commit(new Uint8Array(200).fill(i & 0xff));
  const block = Buffer.alloc(16 * MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  const from = state.layout.tailBase;
  for (let p = from; p < Math.min(size, data); p += block.length) writeSync(fd, block, 0, Math.min(block.length, size - p, data - p), p);
  state.close();
  return fd;
}

/** Plain copies kept at once, like the store's `keep: 2` beside them. */
const KEEP_COPIES = 2;
const keptCopies: string[] = [];
let copies = 0;

/**
 * The baseline: copy every byte of `fd` into a new file in the scratch
 * directory, one fsync. The copies are kept and the oldest deleted like the
 * store's generations (KEEP_COPIES), so that both write into fresh disk
 * space: on this machine's virtual disk, writing blocks just freed by a
 * delete is several times faster than writing new ones (1 GiB: 0.4-0.7 s
 * against 2.9-3.8 s once two earlier copies are kept), which would favour
 * a baseline that deletes its copy at once.
 */
function plainCopyMs(fd: number, size: number): number {
  const path = join(scratch, `plain-copy-${copies++}`);
  const t0 = performance.now();
  const out = openSync(path, 'w', 0o600);
  for (let done = 0; done < size;) done += sendfile(out, fd, done, Math.min(size - done, GiB));
  fsyncSync(out);
  closeSync(out);
  const ms = performance.now() - t0;
  keptCopies.push(path);
  while (keptCopies.length > KEEP_COPIES) rmSync(keptCopies.shift()!, { force: true });
  return ms;
}

async function captureMs(fd: number, store: SnapshotStore): Promise<number> {
  const result = await captureAsHost(fd, store, 'request');
  return result.durationMs;
}

async function fullFiles(store: SnapshotStore): Promise<string[]> {
  const rows: string[] = [];
  for (const size of quick ? [64 * MiB] : [64 * MiB, GiB]) {
    const fd = memoryFile(size, size);
    const runs = quick ? 2 : size >= GiB ? 5 : 9;
    const plain: number[] = [];
    const captured: number[] = [];
    plainCopyMs(fd, size); // warm-up: first-touch costs of the file system
    await captureMs(fd, store);
    for (let i = 0; i < runs; i++) {
      plain.push(plainCopyMs(fd, size));
      captured.push(await captureMs(fd, store));
    }
    closeAsHost(fd);
    const p = median(plain);
    const c = median(captured);
    const label = size >= GiB ? `${size / GiB} GiB` : `${size / MiB} MiB`;
    rows.push(`| ${label}, fully written | ${fmt(size / MiB / (p / 1000), 0)} MiB/s | ${fmt(size / MiB / (c / 1000), 0)} MiB/s | **${fmt(p / c)}x** | ${runs} |`);
    console.log(rows[rows.length - 1]);
  }
  return rows;
}

async function sparseFile(store: SnapshotStore): Promise<string> {
  const data = 10 * MiB;
  // 10 MiB of data in all: header, entry ring, a 64 KiB data ring, and the rest in the tail.
  const sparse = memoryFile(GiB, data, 64 * 1024);
  const small = memoryFile(data, data, 64 * 1024);
  // Each takes 10-30 ms, so many runs; the first few of both are slower
  // (the file system's and the runtime's first-touch costs): warm-ups.
  const runs = quick ? 2 : 21;
  const plain: number[] = [];
  const captured: number[] = [];
  for (let i = 0; i < (quick ? 1 : 5); i++) {
    plainCopyMs(small, data);
    await captureMs(sparse, store);
  }
  for (let i = 0; i < runs; i++) {
    plain.push(plainCopyMs(small, data));
    captured.push(await captureMs(sparse, store));
  }
  closeAsHost(sparse);
  const p = median(plain);
  const c = median(captured);
  const row = `| 1 GiB holding 10 MiB (capture() with full generations) | ${fmt(p, 1)} ms (copy of 10 MiB) | ${fmt(c, 1)} ms | **${fmt(c / p)}x the time** | ${runs} |`;
  console.log(row);
  // The same file and baseline through the host, as a user asks for a capture
  // (its child idle: nothing changes between captures). Deltas (the
  // default), and full generations only.
  try {
    const host = await sparseThroughHost(small, data, plainCopyMs, runs, quick ? 1 : 5);
    const hostFull = await sparseThroughHost(small, data, plainCopyMs, runs, quick ? 1 : 5, ['--max-chain', '0']);
    return `${row}\n${host}\n${hostFull}`;
  } finally {
    closeAsHost(small);
  }
}

/**
 * Captures back to back for `ms` with `options` (by default single
 * attempts; {} for the host's retries after a starved one): captures per
 * second, the captures made and stored, and the attempts made and starved.
 */
async function captureLoop(fd: number, store: SnapshotStore, ms: number, options: CaptureOptions = { maxStarvedRetries: 0 }): Promise<{ perSecond: number; captures: number; stored: number; attempts: number; starved: number }> {
  let stored = 0;
  let failed = 0;
  let starved = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    try {
      const result = await captureAsHost(fd, store, 'interval', options);
      stored += 1;
      starved += result.starvedRetries;
    } catch (err) {
      if (!(err instanceof CaptureError) || err.kind !== 'starved') throw err;
      failed += 1;
      starved += err.starvedRetries;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: stored / seconds, captures: stored + failed, stored, attempts: stored + starved, starved };
}

async function busyWriter(store: SnapshotStore, geometry: { slots?: number; ring?: number; recordSize?: number } = { slots: 8192, ring: 2 * MiB }): Promise<string> {
  const size = 8 * MiB;
  const { slots, ring, recordSize } = geometry;
  const fd = memfdCreate('bench-capture-busy');
  ftruncateSync(fd, size);
  addSeals(fd, F_SEAL_SHRINK);
  const seconds = quick ? 1 : 5;
  const args = [
    ...(slots ? ['--slots', String(slots)] : []), ...(ring ? ['--ring-size', String(ring)] : []),
    ...(recordSize ? ['--min-size', String(recordSize), '--max-size', String(recordSize)] : []),
  ];
  const child = spawn('sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, join(root, 'fixtures/records.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit', fd],
    env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' },
  });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 200)); // let it reach full speed
  const busy = await captureLoop(fd, store, seconds * 1000);
  const interval = slots !== undefined && slots <= 64 ? await captureLoop(fd, store, seconds * 1000, {}) : null;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  const idle = await captureLoop(fd, store, seconds * 1000);
  closeAsHost(fd);
  const what = slots ? `${ring! >= MiB ? `${ring! / MiB} MiB` : `${ring! / 1024} KiB`} ring, ${slots} slots` : 'default geometry';
  const row = `| ${size / MiB} MiB file, ${what}${recordSize ? `, ${recordSize}-byte records` : ''} | ${fmt(idle.perSecond, 1)} captures/s | ${fmt(busy.perSecond, 1)} captures/s | **${fmt(busy.perSecond / idle.perSecond)}x**; ${busy.starved} of ${busy.attempts} attempts starved (${fmt((100 * busy.starved) / Math.max(1, busy.attempts), 1)}%)${interval === null ? '' : `; with the host's retries, ${interval.stored} of ${interval.captures} captures stored (${fmt((100 * interval.stored) / Math.max(1, interval.captures), 1)}%)`} | ${seconds} s each |`;
  console.log(row);
  return row;
}

/** A fully written memory file of `size` bytes and where its tail starts. */
function writtenFile(size: number): { fd: number; tailBase: number } {
  const fd = memoryFile(size, size);
  const probe = attach({ fd });
  const tailBase = probe.layout.tailBase;
  probe.close();
  return { fd, tailBase };
}

const before = loadavg().map((x) => x.toFixed(1)).join(', ');
try {
  // Full captures, as before deltas: maxChain 0.
  const store = await SnapshotStore.open(join(scratch, 'store'), { keep: 2, chain: { maxChain: 0 } });
  const full = await fullFiles(store);
  const sparse = await sparseFile(store);
  const busy = [
    await busyWriter(store),
    await busyWriter(store, { recordSize: 64 }),
    await busyWriter(store, { slots: 8, ring: 4096, recordSize: 64 }),
  ];
  await store.close();
  // Deltas (BENCH_DELTA_SIZE bytes, default 1 GiB).
  const deltaSize = quick ? 64 * MiB : Number(process.env.BENCH_DELTA_SIZE ?? GiB);
  const { fd: dfd, tailBase } = writtenFile(deltaSize);
  const bench = { tailBase, plainCopyMs, runs: quick ? 2 : 5 };
  const hashing = hashers(dfd, bench.runs);
  const deltas = [
    await scatteredDelta(join(scratch, 'd1'), dfd, deltaSize, bench),
    await everyBlockChanged(join(scratch, 'd2'), dfd, deltaSize, bench),
    await longestChainRestore(join(scratch, 'd3'), dfd, deltaSize, bench),
  ];
  closeAsHost(dfd);
  const soakSize = quick ? 32 * MiB : Number(process.env.BENCH_SOAK_SIZE ?? 256 * MiB);
  const { fd: sfd, tailBase: soakTail } = writtenFile(soakSize);
  const disk = await diskUnderRetention(join(scratch, 'd4'), sfd, soakSize, { ...bench, tailBase: soakTail }, quick ? 20 : 100);
  closeAsHost(sfd);
  const after = loadavg().map((x) => x.toFixed(1)).join(', ');
  if (!quick) {
    writeBenchmarkSection('Capture', 'npm run bench:capture', `
Capture of a live memory file into the snapshot store (\`src/live\`), every
figure the median of the runs shown, each run alternating with its baseline.
Targets: capture throughput at least 0.8x the plain copy; the sparse file
within 2x the time of copying its 10 MiB alone, through the host too (a
host running a child on that file, timed from the SIGUSR1 that asks for a
capture to the host's log line of the durable generation: with deltas,
the default, and with --max-chain 0, every generation full).

| Full file | Plain copy (sendfile + one fsync) | Capture (copy, checksum, durable write) | Ratio | Runs |
| --- | --- | --- | --- | --- |
${full.join('\n')}

| Sparse file | Baseline | Capture | Ratio | Runs |
| --- | --- | --- | --- | --- |
${sparse}

| Busy writer (records fixture at full speed) | Idle file | Busy file | Ratio; starvation | Duration |
| --- | --- | --- | --- | --- |
${busy.join('\n')}

Delta generations (\`src/live/blocks.ts\`; ${deltaSize / MiB} MiB file, disk use with a ${soakSize / MiB} MiB file).
Targets: a delta of scattered changes within 0.15x the time of a plain
copy+fsync of the whole file and at most 2x the changed bytes (besides the
rings); every block changed at least 0.8x a plain copy; the longest chain
restored within 1.5x a full image; disk use at most 3x the image.

| Case | Baseline | Delta | Ratio | Runs |
| --- | --- | --- | --- | --- |
${deltas.join('\n')}
${disk}

Why 4 KiB blocks (\`BLOCK_SIZE\`, src/format/chunk-digests.ts): a delta
writes every block in which anything changed, so 10 MiB of scattered
4 KiB writes cost 10 MiB with 4 KiB blocks, 20 MiB with 8 KiB (the 2x
limit) and 160 MiB with 64 KiB. Why the checksum and the comparison work
in 64 KiB chunks (\`IMAGE_CHUNK_SIZE\`): XXH3-64 costs a fixed amount per
call besides its bytes. xxhash-addon (chosen over @node-rs/xxhash, whose
streaming \`Xxh3\` read a mapping 1.6x slower, and whose one-shot call
copies its input) hashes 24-29 GB/s in 64 KiB calls when its input is in
the caches and reads the input where it is; but its own \`XXHash3.hash\`
costs about 0.8-1 us per call besides the hashing (it allocates the
result's Buffer), so 4 KiB calls ran at about 5 GB/s. The capture calls the
same C function of the same library through koffi (src/sys/xxh3.ts), at
about 0.15 us per 4 KiB call; the table below compares the two calls in
the same run. Read from a mapping of a memory file larger than the
caches, both run slower than in the caches. So a
capture hashes 64 KiB chunks, one call each; a delta inherits every chunk
whose 128-bit digest equals the parent's (XXH3-128, whose low half is the
chunk's XXH3-64 over 240 bytes: one call gives both; through koffi it
returns a struct, about 1 us more per call than XXH3-64), and compares the 4 KiB blocks of a
changed chunk with the parent's block digests, kept in memory
(BlockDigests, 2 MiB per GiB; learned by the deltas' hashing workers, so
the first delta after a full generation hashes every block once), or
where those are not known yet with the parent's bytes, read through its
chain. A change goes unseen only on a 128-bit collision of a changed
chunk's digest with its old bytes' (a block left out by a collision of
the 64-bit block digests makes the image fail its checksum). A delta hashes the whole file to find what changed,
straight from the mapping the host keeps of its current file between
captures (KeptMapping: mapped anew per capture, its page faults and
munmap cost about 130 ms per GiB here), in 16 MiB pieces shared with a
worker thread that reads the same mapping; the changed chunks of each
piece are written while the worker hashes the next ones. Every capture
here goes through such a kept mapping, as the host's do.

| Hashing | Before | Now | Ratio | Runs |
| --- | --- | --- | --- | --- |
${hashing}

A full capture is a copy of the file's data runs (holes are skipped on
both sides) through a 1 MiB buffer, XXH3-64 of every 64 KiB chunk as it
passes, then fsync, rename, manifest, fsync, rename and a directory
fsync; the baseline is the copy and one fsync alone, its copies kept and
deleted like the store's generations (on this virtual machine, writing
into memory and disk blocks just freed is several times faster than into
new ones, which would otherwise favour the baseline). A capture asks the
kernel to start writing back what it has written while it copies
(sync_file_range, one request at a time, the bytes written meanwhile
merged into the next), so the disk works during the copy. Retention runs
after the commit, in the background (a capture publishes its
durable_offset without waiting for it); the next capture waits for it
before it starts, so in these back-to-back loops its cost (2-3 ms for the
sparse file) still counts, while in the host it falls between intervals. With a busy writer both
processes share the machine's two cores.

Load average (1, 5, 15 min) ${before} before and ${after} after the run.`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
