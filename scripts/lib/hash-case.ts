// The hashing library of the capture, measured against the one it replaced
// (bench-capture.ts): XXH3-64 (seed 0) of every 64 KiB chunk of a memory
// file, read straight from a mapping on one thread, as a delta capture
// hashes the live file. Both libraries give the same digests (checked
// here); what differs is how fast they read a mapping too large for the
// caches.
import { createRequire } from 'node:module';
import { fstatSync } from 'node:fs';
import { digestOf } from '../../src/format/index.js';
import { Mapping, MappingWindows } from '../../src/sys/index.js';
import { median } from './median.js';

const require = createRequire(import.meta.url);
const CHUNK = 64 * 1024;
const MiB = 1024 * 1024;

/** One row: GB/s of @node-rs/xxhash's streaming Xxh3 (the baseline) and of digestOf (xxhash-addon), alternating, `runs` each. */
export function hashers(fd: number, runs: number): string {
  const { xxh3 } = require('@node-rs/xxhash') as typeof import('@node-rs/xxhash');
  const streaming = xxh3.Xxh3.withSeed(0n);
  const size = fstatSync(fd).size;
  const windows = new MappingWindows(Mapping.map(fd, size));
  try {
    const pass = (digest: (bytes: Uint8Array) => bigint): { ms: number; sum: bigint } => {
      let sum = 0n;
      const t0 = performance.now();
      for (let a = 0; a < size; a += CHUNK) sum ^= digest(windows.get(a, Math.min(a + CHUNK, size)));
      return { ms: performance.now() - t0, sum };
    };
    const before = (bytes: Uint8Array): bigint => {
      streaming.reset();
      streaming.update(bytes);
      return streaming.digest();
    };
    pass(digestOf); // the pages in
    const baseline: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < runs; i++) {
      const b = pass(before);
      const o = pass(digestOf);
      if (b.sum !== o.sum) throw new Error('the two libraries disagree on a digest');
      baseline.push(b.ms);
      ours.push(o.ms);
    }
    const gbps = (ms: number): string => (size / 1e6 / ms).toFixed(1);
    const row = `| XXH3-64 of a ${size / MiB} MiB memory file in 64 KiB calls, from a mapping, one thread | ${gbps(median(baseline))} GB/s (@node-rs/xxhash, streaming \`Xxh3\`) | ${gbps(median(ours))} GB/s (xxhash-addon, \`XXHash3.hash\`) | **${(median(baseline) / median(ours)).toFixed(2)}x** | ${runs} |`;
    console.log(row);
    return row;
  } finally {
    windows.mapping.close();
  }
}
