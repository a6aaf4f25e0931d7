// Start-up benchmark (npm run bench:startup), each case against a baseline
// in the same run, runs alternating so that load on the machine falls on
// both alike; medians:
//   --version   `shm-host --version` vs `node -e 0`
//   list        `shm-host list` on an empty directory vs `node -e 0`
//   host start  spawning `shm-host --dir D -- node CHILD` until the child's
//               first line on stdout, vs spawning `node CHILD` bare until
//               the same line (the difference is what the host adds); split
//               at the host's spawn of the child (its `started` log line)
//               into the host's own start and the child's, each host
//               waited for until it exits; the same with no code cache
//               (the bundle compiled at each start: bin/load-bundle.cjs),
//               and with the modules of dist/cli/ loaded one by one
//               instead of the bundle dist/cli-bundle/main.cjs that
//               bin/shm-host.js runs (scripts/bundle-cli.js)
//   imports     `node -e "await import(X)"` for yargs and execa vs
//               `node -e 0`: what each library alone adds to a start
// The build in dist/ is what runs (npm run build first: tsc, then the bundle).
// BENCH_ROUNDS (default 11) sets the number of runs of each; BENCH_COMPARE_BIN
// (another build's bin/shm-host.js, e.g. a checkout of main) adds its host
// start, alternating with this one's, to compare two builds in one run
// (BENCH_COMPARE_LABEL names it in the table).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeBenchmarkSection } from './lib/benchmarks-doc.js';
import { median } from './lib/median.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/shm-host.js');
const rounds = Number(process.env.BENCH_ROUNDS ?? 11);
const CHILD = ['-e', 'process.stdout.write("up\\n")'];

/** Milliseconds from spawning `node args` until its exit, or (`untilOutput`) until its first stdout byte, waiting for the exit all the same. */
function timed(args: string[], untilOutput: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const ms = (): number => Number(process.hrtime.bigint() - start) / 1e6;
    let firstOutput: number | null = null;
    if (untilOutput) p.stdout.once('data', () => (firstOutput = ms()));
    p.stdout.resume();
    p.on('error', reject);
    p.on('exit', (code) => {
      if (untilOutput && firstOutput === null) reject(new Error(`${args.join(' ')} exited (${code}) before any output`));
      else if (!untilOutput && code !== 0) reject(new Error(`${args.join(' ')} exited with ${code}`));
      else resolve(firstOutput ?? ms());
    });
  });
}

/**
 * Host start to the child's first line (ms), and to the host's spawn of the
 * child: the time of its `started` JSON log line (whole milliseconds of the
 * wall clock, against the wall clock at the host's spawn here).
 */
function timedHost(bin: string, dir: string, env: NodeJS.ProcessEnv = process.env): Promise<{ firstLine: number; spawned: number }> {
  return new Promise((resolve, reject) => {
    const wallStart = Date.now();
    const start = process.hrtime.bigint();
    const p = spawn(process.execPath, [bin, '--dir', dir, '--interval', '0', '--log-format', 'json', '--', process.execPath, ...CHILD], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let firstLine: number | null = null;
    let spawned: number | null = null;
    let log = '';
    p.stdout.once('data', () => (firstLine = Number(process.hrtime.bigint() - start) / 1e6));
    p.stdout.resume();
    p.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const started = log.split('\n').find((l) => l.includes('"event":"started"'));
      if (spawned === null && started !== undefined) spawned = Date.parse((JSON.parse(started) as { time: string }).time) - wallStart;
    });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (firstLine === null || spawned === null) reject(new Error(`${bin} exited (${code}) before the child's first line:\n${log}`));
      else resolve({ firstLine, spawned });
    });
  });
}

const mtime = (path: string): number => { try { return statSync(join(root, path)).mtimeMs; } catch { return -1; } };
if (mtime('dist/cli-bundle/main.cjs') < mtime('dist/cli/main.js')) {
  process.stderr.write('bench-startup: dist/cli-bundle/ is missing or older than dist/cli/ (tsc alone): run npm run build\n');
  process.exit(2);
}
const scratch = mkdtempSync(join(tmpdir(), 'shm-bench-startup-'));
// bin/shm-host.js without the bundle: dist/cli/main.js and its modules.
const modulesBin = join(scratch, 'modules-entry.mjs');
writeFileSync(modulesBin, `import module from 'node:module';
if (typeof module.enableCompileCache === 'function') module.enableCompileCache();
const { main } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/cli/main.js')).href)});
process.exitCode = await main(process.argv.slice(2));
`);
const compare = process.env.BENCH_COMPARE_BIN;
const compareLabel = process.env.BENCH_COMPARE_LABEL ?? compare;
const samples: Record<string, number[]> = { node: [], version: [], list: [], bare: [], host: [], spawned: [], restored: [], uncached: [], modules: [], modulesSpawned: [], other: [], yargs: [], execa: [] };
const loadBefore = loadavg()[0]!;
const importing = (name: string): string[] => ['--input-type=module', '-e', `await import(${JSON.stringify(name)})`];
try {
  // One warm-up of each (page cache), not counted.
  await timed(['-e', '0'], false);
  await timed([bin, '--version'], false);
  await timed([bin, 'list', '--dir', scratch], false);
  await timedHost(bin, join(scratch, 'restored'));
  for (let i = 0; i < rounds; i++) {
    samples.node!.push(await timed(['-e', '0'], false));
    samples.version!.push(await timed([bin, '--version'], false));
    samples.list!.push(await timed([bin, 'list', '--dir', scratch], false));
    samples.bare!.push(await timed(CHILD, true));
    // A fresh directory each time: nothing to restore, as on a first start.
    const host = await timedHost(bin, join(scratch, `host-${i}`));
    samples.host!.push(host.firstLine);
    samples.spawned!.push(host.spawned);
    // The same directory each time: its latest generation (one small image) is restored.
    samples.restored!.push((await timedHost(bin, join(scratch, 'restored'))).firstLine);
    // The bundle compiled at each start (bin/load-bundle.cjs keeps no code cache).
    samples.uncached!.push((await timedHost(bin, join(scratch, `uncached-${i}`), { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' })).firstLine);
    const unbundled = await timedHost(modulesBin, join(scratch, `modules-${i}`));
    samples.modules!.push(unbundled.firstLine);
    samples.modulesSpawned!.push(unbundled.spawned);
    if (compare !== undefined) samples.other!.push((await timedHost(compare, join(scratch, `other-${i}`))).firstLine);
    samples.yargs!.push(await timed(importing('yargs'), false));
    samples.execa!.push(await timed(importing('execa'), false));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const loadAfter = loadavg()[0]!;
const m = Object.fromEntries(Object.entries(samples).filter(([, v]) => v.length > 0).map(([k, v]) => [k, median(v)])) as Record<string, number>;
const f = (ms: number): string => `${ms.toFixed(0)} ms`;
const body = `
Medians of ${rounds} alternating runs of each (after one warm-up run), in
one process that spawns them; the build in \`dist/\`.

| case | median | baseline | median of baseline | ratio | difference |
| --- | --- | --- | --- | --- | --- |
| \`shm-host --version\` | ${f(m.version!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.version! / m.node!).toFixed(2)}x | ${f(m.version! - m.node!)} |
| \`shm-host list\` (empty directory) | ${f(m.list!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.list! / m.node!).toFixed(2)}x | ${f(m.list! - m.node!)} |
| host start to the child's first line | ${f(m.host!)} | the same child started bare | ${f(m.bare!)} | ${(m.host! / m.bare!).toFixed(2)}x | ${f(m.host! - m.bare!)} |
| of which: host start to its spawn of the child | ${f(m.spawned!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.spawned! / m.node!).toFixed(2)}x | ${f(m.spawned! - m.node!)} |
| the same on a directory with one small generation (restored) | ${f(m.restored!)} | the same child started bare | ${f(m.bare!)} | ${(m.restored! / m.bare!).toFixed(2)}x | ${f(m.restored! - m.bare!)} |
| host start to the child's first line, no code cache (\`NODE_DISABLE_COMPILE_CACHE=1\`) | ${f(m.uncached!)} | the same child started bare | ${f(m.bare!)} | ${(m.uncached! / m.bare!).toFixed(2)}x | ${f(m.uncached! - m.bare!)} |
| host start to the child's first line, modules not bundled | ${f(m.modules!)} | the same child started bare | ${f(m.bare!)} | ${(m.modules! / m.bare!).toFixed(2)}x | ${f(m.modules! - m.bare!)} |
| of which: host start to its spawn of the child, not bundled | ${f(m.modulesSpawned!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.modulesSpawned! / m.node!).toFixed(2)}x | ${f(m.modulesSpawned! - m.node!)} |
${compare === undefined ? '' : `| host start to the child's first line, ${compareLabel} | ${f(m.other!)} | the same child started bare | ${f(m.bare!)} | ${(m.other! / m.bare!).toFixed(2)}x | ${f(m.other! - m.bare!)} |\n`}| importing yargs alone | ${f(m.yargs!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.yargs! / m.node!).toFixed(2)}x | ${f(m.yargs! - m.node!)} |
| importing execa alone | ${f(m.execa!)} | \`node -e 0\` | ${f(m.node!)} | ${(m.execa! / m.node!).toFixed(2)}x | ${f(m.execa! - m.node!)} |

Load average (1 min) ${loadBefore.toFixed(1)} before the rounds, ${loadAfter.toFixed(1)} after, on ${cpus().length} cores shared with other work.
`;
process.stdout.write(body);
if (process.env.BENCH_WRITE !== '0') writeBenchmarkSection('Start-up', 'npm run bench:startup', body);
