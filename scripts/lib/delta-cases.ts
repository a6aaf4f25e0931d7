// Delta generation benchmarks for bench-capture.ts, each against a baseline
// measured in the same run: scattered changes, every block changed, the
// longest chain's restore, disk use under retention.
import { closeSync, fstatSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotStore } from '../../src/store/index.js';
import { restoreImage } from '../../src/live/index.js';
import { captureAsHost } from './as-host.js';
import { memfdCreate } from '../../src/sys/index.js';
import { median } from './median.js';

const MiB = 1024 * 1024;
const fmt = (x: number, digits = 2): string => x.toFixed(digits);
const label = (size: number): string => (size >= 1024 * MiB ? `${size / 1024 / MiB} GiB` : `${size / MiB} MiB`);

/** A deterministic generator, so that runs compare. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes `bytes` worth of 4 KiB pages at random page-aligned places of the tail [from, size). */
export function scatter(fd: number, from: number, size: number, bytes: number, seed: number): void {
  const next = random(seed);
  const page = Buffer.alloc(4096);
  const pages = Math.floor((size - from) / 4096);
  for (let i = 0; i < bytes / 4096; i++) {
    page.fill((seed + i) & 0xff);
    page.writeUInt32LE(i, 0);
    writeSync(fd, page, 0, 4096, from + Math.floor(next() * pages) * 4096);
  }
}

/** Rewrites every byte of the tail [from, size) with a new pattern. */
function rewriteAll(fd: number, from: number, size: number, seed: number): void {
  const block = Buffer.alloc(16 * MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(((i + seed) * 2654435761) >>> 0, i);
  for (let p = from; p < size; p += block.length) writeSync(fd, block, 0, Math.min(block.length, size - p), p);
}

/** Allocated bytes of every file in `dir`. */
export function diskUse(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    try {
      total += statSync(join(dir, name)).blocks * 512;
    } catch {
      // deleted meanwhile by retention in the background
    }
  }
  return total;
}

export interface DeltaBench {
  readonly tailBase: number;
  readonly plainCopyMs: (fd: number, size: number) => number;
  readonly runs: number;
}

/** Idle time before each of the scattered delta's comparison runs: longer than this virtual machine takes to hand freed memory back to its host (free page reporting, about 2 s). */
const IDLE_MS = 3000;

/** 10 MiB changed in scattered 4 KiB writes between captures: delta capture vs a plain copy+fsync of the whole file. */
export async function scatteredDelta(dir: string, fd: number, size: number, b: DeltaBench): Promise<string> {
  const store = await SnapshotStore.open(dir, { keep: 3, chain: { maxChain: 1000, maxChainRatio: 10 } });
  try {
    await captureAsHost(fd, store, 'request'); // the full parent
    const plain: number[] = [];
    const delta: number[] = [];
    const written: number[] = [];
    for (let i = 0; i < b.runs; i++) {
      plain.push(b.plainCopyMs(fd, size));
      scatter(fd, b.tailBase, size, 10 * MiB, i + 1);
      const r = await captureAsHost(fd, store, 'request');
      if (r.generation.manifest.kind !== 'delta') throw new Error('expected a delta');
      delta.push(r.durationMs);
      written.push(r.generation.manifest.delta!.fileBytes);
    }
    const p = median(plain);
    const d = median(delta);
    const w = median(written);
    const row = `| ${label(size)}, 10 MiB changed in scattered 4 KiB writes | ${fmt(p, 0)} ms (copy+fsync of ${label(size)}) | ${fmt(d, 0)} ms; delta file ${fmt(w / MiB, 1)} MiB (rings ${fmt(b.tailBase / MiB, 1)} MiB) | **${fmt(d / p)}x the time**; **${fmt((w - b.tailBase) / (10 * MiB))}x the changed bytes** written besides the rings | ${b.runs} |`;
    console.log(row);
    // The same delta without the baseline's copy before it (for comparison,
    // no target): back to back, and each after the machine idled, as the
    // host's interval captures do.
    const backToBack: number[] = [];
    const afterIdle: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < b.runs; i++) {
      scatter(fd, b.tailBase, size, 10 * MiB, 100 + i);
      const before = process.cpuUsage();
      backToBack.push((await captureAsHost(fd, store, 'request')).durationMs);
      const used = process.cpuUsage(before);
      cpu.push((used.user + used.system) / 1000);
    }
    // Nothing changed: what reading the whole file costs a delta (its floor).
    const unchanged: number[] = [];
    for (let i = 0; i < b.runs; i++) unchanged.push((await captureAsHost(fd, store, 'request')).durationMs);
    for (let i = 0; i < b.runs; i++) {
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      scatter(fd, b.tailBase, size, 10 * MiB, 200 + i);
      afterIdle.push((await captureAsHost(fd, store, 'request')).durationMs);
    }
    const near = median(backToBack);
    const idle = median(afterIdle);
    const info = `| ${label(size)}, the same scattered delta without the copy before it (no target): back to back; each after ${IDLE_MS / 1000} s idle | the copy above | ${fmt(near, 0)} ms; ${fmt(idle, 0)} ms | ${fmt(near / p)}x; ${fmt(idle / p)}x the time | ${b.runs} each |`;
    // CPU time of every thread of this process (process.cpuUsage(): the
    // hashing worker included), which the disk's speed does not change.
    const work = `| ${label(size)}, back to back as above: CPU time per delta, all threads (no target); a delta with nothing changed | the copy above | ${fmt(median(cpu), 0)} ms of CPU; ${fmt(median(unchanged), 0)} ms | ${fmt(median(unchanged) / p)}x the time (nothing changed) | ${b.runs} each |`;
    console.log(info);
    console.log(work);
    return `${row}\n${info}\n${work}`;
  } finally {
    await store.close();
  }
}

/** Every block changed: a delta capture (it holds every block) vs a plain copy. */
export async function everyBlockChanged(dir: string, fd: number, size: number, b: DeltaBench): Promise<string> {
  const store = await SnapshotStore.open(dir, { keep: 2, chain: { maxChain: 1000, maxChainRatio: 10 } });
  try {
    await captureAsHost(fd, store, 'request');
    const plain: number[] = [];
    const delta: number[] = [];
    for (let i = 0; i < b.runs; i++) {
      plain.push(b.plainCopyMs(fd, size));
      rewriteAll(fd, b.tailBase, size, i + 7);
      delta.push((await captureAsHost(fd, store, 'request')).durationMs);
    }
    const p = median(plain);
    const d = median(delta);
    const row = `| ${label(size)}, every block changed (delta capture) | ${fmt(size / MiB / (p / 1000), 0)} MiB/s | ${fmt(size / MiB / (d / 1000), 0)} MiB/s | **${fmt(p / d)}x** | ${b.runs} |`;
    console.log(row);
    return row;
  } finally {
    await store.close();
  }
}

/** The longest chain the defaults allow (deltas up to half the image), restored, vs a full image of the same size. */
export async function longestChainRestore(dir: string, fd: number, size: number, b: DeltaBench): Promise<string> {
  const store = await SnapshotStore.open(dir, { keep: 100 });
  try {
    const full = (await captureAsHost(fd, store, 'request')).generation;
    let top = full;
    // Each delta changes 5% of the image: the chain ends at 10 links (the default) or half the image in deltas.
    for (let i = 0; ; i++) {
      scatter(fd, b.tailBase, size, Math.floor((size * 0.05) / 4096) * 4096, 100 + i);
      const g = (await captureAsHost(fd, store, 'request')).generation;
      if (g.manifest.kind === 'full') break;
      top = g;
    }
    const restoreMs = async (g: typeof full): Promise<number> => {
      const out = memfdCreate('bench-restore');
      const t0 = performance.now();
      await restoreImage(g, out, 0, store);
      const ms = performance.now() - t0;
      closeSync(out);
      return ms;
    };
    const f: number[] = [];
    const c: number[] = [];
    for (let i = 0; i < b.runs; i++) {
      f.push(await restoreMs(full));
      c.push(await restoreMs(top));
    }
    const row = `| ${label(size)}: chain of ${top.manifest.chain.links} deltas (${fmt(top.manifest.chain.bytes / MiB, 0)} MiB) | ${fmt(median(f), 0)} ms (full image) | ${fmt(median(c), 0)} ms | **${fmt(median(c) / median(f))}x** | ${b.runs} |`;
    console.log(row);
    return row;
  } finally {
    await store.close();
  }
}

/** `captures` captures with 1% of the image changed before each, --keep 3: the most disk the directory ever took. */
export async function diskUnderRetention(dir: string, fd: number, size: number, b: DeltaBench, captures: number): Promise<string> {
  const store = await SnapshotStore.open(dir, { keep: 3 });
  let most = 0;
  try {
    for (let i = 0; i < captures; i++) {
      scatter(fd, b.tailBase, size, Math.floor((size * 0.01) / 4096) * 4096, 1000 + i);
      await captureAsHost(fd, store, 'interval');
      most = Math.max(most, diskUse(dir));
    }
  } finally {
    await store.close();
  }
  const row = `| ${label(size)}, ${captures} captures, 1% changed each, keep 3 | ${label(size)} image | at most ${fmt(most / MiB, 0)} MiB on disk | **${fmt(most / fstatSync(fd).size)}x the image** | 1 |`;
  console.log(row);
  return row;
}
