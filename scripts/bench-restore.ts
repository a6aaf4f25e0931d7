// Restore at start (npm run bench:restore): a host started on a directory
// whose newest generation is a full 1 GiB image (fully written), timed from
// its spawn to the child's first line, against a baseline measured in the
// same run, alternating: the same child started bare plus one kernel copy
// of the image file into a new memory file (sendfile from the page cache),
// the least any restore of that image costs. Each round starts on a fresh
// copy of the directory (made outside the timing), as after a crash.
// BENCH_COMPARE_BIN (another build's bin/shm-host.js) adds that build's
// start, alternating, to compare two builds in one run. BENCH_QUICK=1: a
// 64 MiB image and two rounds, nothing written to docs/BENCHMARKS.md.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeBenchmarkSection } from './lib/benchmarks-doc.js';
import { median } from './lib/median.js';
import { benchChild, startHost } from './lib/host-process.js';
import { kernelCopyIntoMemfdMs } from './lib/kernel-copy.js';

const quick = process.env.BENCH_QUICK === '1';
const size = quick ? 64 << 20 : 1 << 30;
const sizeArg = quick ? '64M' : '1G';
const rounds = quick ? 2 : Number(process.env.BENCH_ROUNDS ?? 7);
const compare = process.env.BENCH_COMPARE_BIN;

/** A directory whose one generation is a full image of a `size`-byte file the child wrote in full. */
async function directory(base: string): Promise<string> {
  const dir = join(base, 'state');
  const host = startHost(dir, ['--size', sizeArg, '--interval', '0'], ['--fill']);
  await host.out.next(/^ready/, 300_000);
  host.proc.kill('SIGTERM'); // its shutdown capture: the full generation
  await host.exited;
  return dir;
}

/** Spawn of a host on a fresh copy of `dir` to its child's first line (ms); the host is then stopped, outside the timing. */
async function hostStartMs(dir: string, hostBin?: string): Promise<number> {
  const run = `${dir}-run`;
  rmSync(run, { recursive: true, force: true });
  execFileSync('cp', ['-a', dir, run]);
  const t0 = performance.now();
  const host = startHost(run, ['--size', sizeArg, '--interval', '0'], [], hostBin);
  await host.out.next(/^ready/, 300_000);
  const ms = performance.now() - t0;
  host.proc.kill('SIGTERM');
  await host.exited;
  rmSync(run, { recursive: true, force: true });
  return ms;
}

/** The same child started bare on a private memory file of the same size, to its first line (ms). */
async function bareStartMs(): Promise<number> {
  const t0 = performance.now();
  const p = spawn(process.execPath, [benchChild, '--standalone', '--size', String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => createInterface({ input: p.stdout! }).once('line', () => resolve()));
  const ms = performance.now() - t0;
  p.kill('SIGKILL');
  await new Promise((resolve) => p.on('exit', resolve));
  return ms;
}

/** One kernel copy of the image file into a new memory file (ms). */
function kernelCopyMs(image: string): number {
  const from = openSync(image, 'r');
  try {
    return kernelCopyIntoMemfdMs(from, size);
  } finally {
    closeSync(from);
  }
}

const base = mkdtempSync(join(tmpdir(), 'bench-restore-'));
try {
  const loadBefore = loadavg()[0]!;
  const dir = await directory(base);
  const image = join(dir, 'gen-0000000000000001.img');
  const host: number[] = [];
  const other: number[] = [];
  const floor: number[] = [];
  await hostStartMs(dir); // warm-up: the image in the page cache, as the baseline reads it
  for (let i = 0; i < rounds; i++) {
    host.push(await hostStartMs(dir));
    if (compare !== undefined) other.push(await hostStartMs(dir, compare));
    floor.push((await bareStartMs()) + kernelCopyMs(image));
  }
  const f = (ms: number): string => `${ms.toFixed(0)} ms`;
  const label = quick ? '64 MiB' : '1 GiB';
  const rows = [
    '| case | spawn -> first line (median) | baseline (same run): bare start + one kernel copy of the image | ratio |',
    '|---|---|---|---|',
    `| host start, newest generation a full ${label} image | ${f(median(host))} | ${f(median(floor))} | **${(median(host) / median(floor)).toFixed(2)}x** |`,
    ...(compare === undefined ? [] : [`| the same, ${process.env.BENCH_COMPARE_LABEL ?? compare} | ${f(median(other))} | ${f(median(floor))} | **${(median(other) / median(floor)).toFixed(2)}x** |`]),
  ];
  const body = `${rows.join('\n')}

Medians of ${rounds} alternating rounds after one warm-up, each on a fresh
copy of the directory. The host verifies the generation's structure
(manifest, size, layout) and checks its image checksum while it copies the
image into the new shared file: the image is read once. Load average (1
min) ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after, on ${cpus().length} cores.
`;
  process.stdout.write(body);
  if (!quick && process.env.BENCH_WRITE !== '0') writeBenchmarkSection('Restore at start', 'npm run bench:restore', body);
} finally {
  rmSync(base, { recursive: true, force: true });
}
