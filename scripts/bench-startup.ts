// Start-up benchmark (npm run bench:startup), each case against a baseline
// in the same run, runs alternating so that load on the machine falls on
// both alike; medians:
//   --version   `shm-host --version` vs `node -e 0`
//   list        `shm-host list` on an empty directory vs `node -e 0`
//   host start  spawning `shm-host --dir D -- node CHILD` until the child's
//               first line on stdout, vs spawning `node CHILD` bare until
//               the same line (the difference is what the host adds)
//   imports     `node -e "await import(X)"` for yargs and execa vs
//               `node -e 0`: what each library alone adds to a start
// The build in dist/ is what runs (npm run build first).
// BENCH_ROUNDS (default 11) sets the number of runs of each.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBenchmarkSection } from './lib/benchmarks-doc.js';
import { median } from './lib/median.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/shm-host.js');
const rounds = Number(process.env.BENCH_ROUNDS ?? 11);
const CHILD = ['-e', 'process.stdout.write("up\\n")'];

/** Milliseconds from spawning `node args` until its first stdout byte (`untilOutput`) or its exit. */
function timed(args: string[], untilOutput: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const ms = (): number => Number(process.hrtime.bigint() - start) / 1e6;
    let done = false;
    if (untilOutput) {
      p.stdout.once('data', () => {
        done = true;
        resolve(ms());
      });
    }
    p.stdout.resume();
    p.on('error', reject);
    p.on('exit', (code) => {
      if (done) return;
      if (untilOutput) reject(new Error(`${args.join(' ')} exited (${code}) before any output`));
      else if (code !== 0) reject(new Error(`${args.join(' ')} exited with ${code}`));
      else resolve(ms());
    });
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'shm-bench-startup-'));
const samples: Record<string, number[]> = { node: [], version: [], list: [], bare: [], host: [], yargs: [], execa: [] };
const importing = (name: string): string[] => ['--input-type=module', '-e', `await import(${JSON.stringify(name)})`];
try {
  // One warm-up of each (page cache), not counted.
  await timed(['-e', '0'], false);
  await timed([bin, '--version'], false);
  await timed([bin, 'list', '--dir', scratch], false);
  for (let i = 0; i < rounds; i++) {
    samples.node!.push(await timed(['-e', '0'], false));
    samples.version!.push(await timed([bin, '--version'], false));
    samples.list!.push(await timed([bin, 'list', '--dir', scratch], false));
    samples.bare!.push(await timed(CHILD, true));
    // A fresh directory each time: nothing to restore, as on a first start.
    const dir = join(scratch, `host-${i}`);
    samples.host!.push(await timed([bin, '--dir', dir, '--interval', '0', '--quiet', '--', process.execPath, ...CHILD], true));
    samples.yargs!.push(await timed(importing('yargs'), false));
    samples.execa!.push(await timed(importing('execa'), false));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<string, number>;
const f = (ms: number): string => `${ms.toFixed(0)} ms`;
const body = `
Medians of ${rounds} alternating runs of each (after one warm-up run), in
one process that spawns them; the build in \`dist/\`.

| case | median | baseline | median of baseline | ratio | difference |
| --- | --- | --- | --- | --- | --- |
| \`shm-host --version\` | ${f(m.version!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.version! / m.node!).toFixed(2)}x | ${f(m.version! - m.node!)} |
| \`shm-host list\` (empty directory) | ${f(m.list!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.list! / m.node!).toFixed(2)}x | ${f(m.list! - m.node!)} |
| host start to the child's first line | ${f(m.host!)} | the same child started bare | ${f(m.bare!)} | ${(m.host! / m.bare!).toFixed(2)}x | ${f(m.host! - m.bare!)} |
| importing yargs alone | ${f(m.yargs!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.yargs! / m.node!).toFixed(2)}x | ${f(m.yargs! - m.node!)} |
| importing execa alone | ${f(m.execa!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.execa! / m.node!).toFixed(2)}x | ${f(m.execa! - m.node!)} |
`;
process.stdout.write(body);
if (process.env.BENCH_WRITE !== '0') writeBenchmarkSection('Start-up', 'npm run bench:startup', body);
