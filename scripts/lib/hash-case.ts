// How the capture calls its hash, measured against how it called it before
// (bench-capture.ts): XXH3-64 (seed 0) of every 64 KiB chunk, then of every
// 4 KiB block, of a memory file, read straight from a mapping on one thread,
// as a delta capture hashes the live file and a changed chunk's blocks. The
// same C function either way (the xxHash library inside xxhash-addon): the
// baseline through the addon's own `XXHash3.hash`, ours through koffi
// (digestOf, src/sys/xxh3.ts). Both give the same digests (checked here);
// what differs is the cost of a call.
import { createRequire } from 'node:module';
import { fstatSync } from 'node:fs';
import { digestOf } from '../../src/format/index.js';
import { Mapping, MappingWindows } from '../../src/sys/index.js';
import { median } from './median.js';

const require = createRequire(import.meta.url);
const MiB = 1024 * 1024;

/** Two rows (64 KiB calls, 4 KiB calls): GB/s of the addon's XXHash3.hash (the baseline) and of digestOf, alternating, `runs` each. */
export function hashers(fd: number, runs: number): string {
  const { XXHash3 } = require('xxhash-addon') as { XXHash3: { hash(data: Uint8Array): Buffer } };
  const before = (bytes: Uint8Array): bigint => XXHash3.hash(bytes).readBigUInt64BE(0);
  const size = fstatSync(fd).size;
  const windows = new MappingWindows(Mapping.map(fd, size));
  try {
    const pass = (digest: (bytes: Uint8Array) => bigint, unit: number): { ms: number; sum: bigint } => {
      let sum = 0n;
      const t0 = performance.now();
      for (let a = 0; a < size; a += unit) sum ^= digest(windows.get(a, Math.min(a + unit, size)));
      return { ms: performance.now() - t0, sum };
    };
    const rows: string[] = [];
    for (const unit of [64 * 1024, 4096]) {
      pass(digestOf, unit); // the pages in
      const baseline: number[] = [];
      const ours: number[] = [];
      for (let i = 0; i < runs; i++) {
        const b = pass(before, unit);
        const o = pass(digestOf, unit);
        if (b.sum !== o.sum) throw new Error('the two calls disagree on a digest');
        baseline.push(b.ms);
        ours.push(o.ms);
      }
      const gbps = (ms: number): string => (size / 1e6 / ms).toFixed(1);
      const row = `| XXH3-64 of a ${size / MiB} MiB memory file in ${unit / 1024} KiB calls, from a mapping, one thread | ${gbps(median(baseline))} GB/s (xxhash-addon's \`XXHash3.hash\`) | ${gbps(median(ours))} GB/s (its C function through koffi) | **${(median(baseline) / median(ours)).toFixed(2)}x** | ${runs} |`;
      console.log(row);
      rows.push(row);
    }
    return rows.join('\n');
  } finally {
    windows.mapping.close();
  }
}
