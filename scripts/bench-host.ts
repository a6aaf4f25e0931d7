// Supervisor benchmarks (npm run bench:host), each against a baseline taken
// in the same run:
//   restart latency  SIGKILL of the child -> the restarted child's first
//                    line at a constant 10 ms delay, vs starting the same
//                    child bare (no host) + the delay + 15 ms (8 MiB) or
//                    1.5 kernel copies of the file (1 GiB, fully written)
//   idle cost        host CPU over a period with an idle child, vs an idle
//                    Node process over the same period
//   throughput       commits of a child under a host capturing every 100 ms,
//                    vs the same child standalone
// BENCH_QUICK=1 shortens every case (for a smoke run).
import { spawn } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchmarkSection } from './lib/benchmarks-doc.js';
import { median } from './lib/median.js';
import { benchChild as child, follow, nthLine, startHost } from './lib/host-process.js';
import { MFD_CLOEXEC, memfdCreate } from '../src/sys/index.js';
import { kernelCopyIntoMemfdMs } from './lib/kernel-copy.js';

const quick = process.env.BENCH_QUICK === '1';
const MiB = 1024 * 1024;

async function bareStartMs(size: number): Promise<number> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [child, '--standalone', '--size', String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await follow(proc.stdout!).next(/^ready/);
  const ms = performance.now() - t0;
  proc.kill('SIGKILL');
  return ms;
}

/** One kernel copy of `size` fully written bytes from a memfd into a new memfd (sendfile), in ms. */
function kernelCopyMs(size: number): number {
  const from = memfdCreate('bench-from', MFD_CLOEXEC);
  try {
    ftruncateSync(from, size);
    const block = Buffer.alloc(MiB, 0x5a);
    for (let at = 0; at < size; at += MiB) writeSync(from, block, 0, Math.min(MiB, size - at), at);
    return kernelCopyIntoMemfdMs(from, size);
  } finally {
    closeSync(from);
  }
}

const RESTART_DELAY_MS = 10;
const PHASES = ['reapMs', 'copyMs', 'delayMs', 'spawnMs', 'totalMs'] as const;

/**
 * SIGKILL of the child -> its restarted successor's first line, at a
 * constant 10 ms restart delay, against a bare start of the same child and
 * one kernel copy of the file, each measured in this run (alternated with
 * the restarts, as the machine's load drifts). Also the medians of the
 * host's restart-timeline phases, and how long the host took to see the death.
 */
async function restartLatency(size: number, rounds: number): Promise<Record<string, number>> {
  const work = mkdtempSync(join(tmpdir(), 'bench-host-'));
  try {
    const host = startHost(join(work, 'state'), ['--size', String(size), '--interval', '0', '--restart-delay', `${RESTART_DELAY_MS}ms`,
      '--restart-max-delay', `${RESTART_DELAY_MS}ms`, '--max-restarts', '1000'], ['--fill']);
    await host.out.next(/^ready/);
    const latencies: number[] = [];
    const bare: number[] = [];
    const copies: number[] = [];
    const seen: number[] = [];
    const phases: Record<string, number[]> = Object.fromEntries(PHASES.map((p) => [p, []]));
    for (let i = 0; i < rounds; i++) {
      const pid = Number(JSON.parse(await nthLine(host.err, /"event":"started"/, i + 1)).pid);
      const killedAt = Date.now();
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      await host.out.next(/^ready/);
      latencies.push(performance.now() - t0);
      const timeline = JSON.parse(await nthLine(host.err, /"event":"restart-timeline"/, i + 1));
      for (const p of PHASES) phases[p]!.push(timeline[p]);
      seen.push(Date.parse(timeline.deathSeenAt) - killedAt);
      // Let the post-mortem capture end, so no round pays for the one before.
      await nthLine(host.err, /"event":"captured".*"reason":"post-mortem"/, i + 1);
      bare.push(await bareStartMs(size));
      copies.push(kernelCopyMs(size));
    }
    host.proc.kill('SIGTERM');
    await host.exited;
    const restart = median(latencies);
    const bareMs = median(bare);
    const copyMs = median(copies);
    const allowance = size <= 64 * MiB ? 15 : 1.5 * copyMs;
    return {
      restart, bare: bareMs, kernelCopy: copyMs, allowance, deathSeen: median(seen),
      ...Object.fromEntries(PHASES.map((p) => [p, median(phases[p]!)])),
      ratio: restart / (bareMs + RESTART_DELAY_MS + allowance),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function idleCost(seconds: number): Promise<Record<string, number>> {
  const work = mkdtempSync(join(tmpdir(), 'bench-host-'));
  try {
    const host = startHost(join(work, 'state'), ['--size', '64M', '--interval', '1s'], []);
    await host.out.next(/^ready/);
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    const hostBefore = cpuSeconds(host.proc.pid!);
    const idleBefore = cpuSeconds(idle.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const wall = (performance.now() - t0) / 1000;
    const hostCpu = (cpuSeconds(host.proc.pid!) - hostBefore) / wall;
    const idleCpu = (cpuSeconds(idle.pid!) - idleBefore) / wall;
    idle.kill('SIGKILL');
    host.proc.kill('SIGTERM');
    await host.exited;
    return { hostPercent: hostCpu * 100, idleNodePercent: idleCpu * 100, seconds };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The newest generation's sequence number in the snapshot directory `dir` (= captures stored). */
function newestSequence(dir: string): number {
  const sequences = readdirSync(dir).map((f) => /^gen-(\d+)\.json$/.exec(f)?.[1]).filter((n) => n !== undefined).map(Number);
  return Math.max(0, ...sequences);
}

/** Commits per second of the child under a host capturing every 100 ms, and how many captures it stored and lost to starvation. */
async function hostedRun(ms: number): Promise<{ perSecond: number; captures: number; starved: number }> {
  const work = mkdtempSync(join(tmpdir(), 'bench-host-'));
  try {
    const state = join(work, 'state');
    const host = startHost(state, ['--size', '64M', '--interval', '100ms', '--restart', 'never'], ['--commit-for', String(ms)]);
    const commits = Number((await host.out.next(/^commits (\d+)/, ms + 60_000))[1]);
    await host.exited;
    // Interval captures are not logged one by one; the last sequence counts
    // them (and the one post-mortem capture after the child exited).
    const starved = host.err.all.filter((l) => l.includes('"event":"capture-failed"') && l.includes('"kind":"starved"')).length;
    return { perSecond: commits / (ms / 1000), captures: newestSequence(state) - 1, starved };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function standaloneRun(ms: number): Promise<number> {
  const bare = spawn(process.execPath, [child, '--standalone', '--commit-for', String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const commits = Number((await follow(bare.stdout!).next(/^commits (\d+)/, ms + 60_000))[1]);
  return commits / (ms / 1000);
}

/** Hosted and standalone runs alternated (the machine's load drifts), medians compared. */
async function throughput(ms: number, rounds: number): Promise<Record<string, number>> {
  const hosted: number[] = [];
  const standalone: number[] = [];
  const captures: number[] = [];
  const starved: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const run = await hostedRun(ms);
    hosted.push(run.perSecond);
    captures.push(run.captures);
    starved.push(run.starved);
    standalone.push(await standaloneRun(ms));
  }
  const h = median(hosted);
  const b = median(standalone);
  return { hostedPerSecond: h, standalonePerSecond: b, ratio: h / b, interval: 100, captures: median(captures), starved: median(starved), seconds: ms / 1000, rounds };
}

/** Restart latency at 8 MiB and 1 GiB: the "Restart" section. */
async function restarts(): Promise<void> {
  const rounds = quick ? 2 : 7;
  const loadBefore = loadavg()[0]!;
  const r8 = await restartLatency(8 * MiB, rounds);
  console.log('restart 8 MiB', r8);
  const r1g = quick ? null : await restartLatency(1024 * MiB, 5);
  if (r1g) console.log('restart 1 GiB', r1g);
  const restartRow = (label: string, r: Record<string, number>, allowance: string): string =>
    `| ${label} | ${f(r.restart!)} ms | death seen ${f(r.deathSeen!, 0)} ms after the kill; reap ${f(r.reapMs!, 2)}, copy and proof ${f(r.copyMs!)}, delay ${f(r.delayMs!)}, spawn ${f(r.spawnMs!)} ms | bare start ${f(r.bare!)} ms + 10 ms + ${allowance} | **${f(r.ratio!, 2)}x** (target <= 1x) |`;
  const rows = [
    '| file, fully written | SIGKILL -> first line | restart-timeline phases (medians) | target (same run) | ratio |',
    '|---|---|---|---|---|',
    restartRow('8 MiB', r8, '15 ms'),
    ...(r1g ? [restartRow('1 GiB', r1g, `1.5 x one kernel copy (${f(r1g.kernelCopy!)} ms)`)] : []),
  ];
  const load = `Load average (1 min) ${f(loadBefore)} before the rounds, ${f(loadavg()[0]!)} after, on ${cpus().length} cores shared with other work.`;
  const notes = `
${load}

From the SIGKILL of the child to the restarted child's first line (median of
${rounds} rounds at 8 MiB, 5 at 1 GiB) at a constant 10 ms restart delay
(\`--restart-delay 10ms --restart-max-delay 10ms\`); the phases are the
medians of the host's \`restart-timeline\` events. The target is issue
12's: a bare start of the same child (measured after each restart, in this
run) plus the delay plus 15 ms at 8 MiB, or plus 1.5 times one kernel copy
of the file (sendfile from a memfd into a new one, measured after each
restart) at 1 GiB. The restarted child starts on a copy of the dead
child's memory made in the kernel (copy_file_range) and proven exact like a
post-mortem capture; that capture is queued once the new child is spawned.

What the timeline showed and what went: the group reap scanned /proc
(2.5 ms idle, 6-20 ms under load; now one kill(-pgid, 0), 0.2 ms); the copy
read into a mapping of the new file (now copy_file_range, 1.4x faster
alone: 1 GiB 544 ms against 800 ms, 8 MiB 2.0 against 4.5 ms, done on the
event loop up to 16 MiB and in 64 MiB steps on the pool above); the
post-mortem capture, started at once, hashed on the event loop during the
delay and the spawn (now queued after the spawn); a restart waited for the
previous post-mortem capture (now only while memory is short). Left: the
setpriv + sh trampoline (2.3 ms over a bare exec when idle).`;
  // A smoke run's figures are not measurements.
  if (!quick) writeBenchmarkSection('Restart', 'npm run bench:host', `${rows.join('\n')}\n${notes}`);
}

const f = (n: number, d = 1): string => n.toFixed(d);

async function main(): Promise<void> {
  // BENCH_ONLY=restart runs the restart rounds alone (the other rows stay as written last).
  await restarts();
  if (process.env.BENCH_ONLY === 'restart') return;
  const idle = await idleCost(quick ? 3 : 30);
  console.log('idle', idle);
  const tp = await throughput(quick ? 1000 : 5000, quick ? 1 : 5);
  console.log('throughput', tp);

  const rows = [
    '| case | shm-host | baseline (same run) | ratio |',
    '|---|---|---|---|',
    `| idle cost over ${idle.seconds} s (interval 1s) | ${f(idle.hostPercent!, 2)}% of a core | idle Node process ${f(idle.idleNodePercent!, 2)}% | target < 1% |`,
    `| commit throughput over ${tp.seconds} s, host capturing every 100 ms (${tp.captures} captures stored, ${tp.starved} starved; median of ${tp.rounds} runs) | ${f(tp.hostedPerSecond! / 1e6, 2)} M commits/s | standalone ${f(tp.standalonePerSecond! / 1e6, 2)} M commits/s | **${f(tp.ratio!, 3)}x** (target >= 0.95x) |`,
  ];
  const notes = `
Restart latency has its own section (Restart). Throughput: the child
commits 64-byte records nonstop, so it laps its default 4096 entry slots in
well under a millisecond, faster than a capture copies its 4 MiB ring;
some captures therefore starve (counted above: they store nothing and say
so, and a child that needs snapshots at that rate asks attach() for more
slots and a larger ring). The row measures what the host's copying costs
the child. Single runs vary by a third on this shared machine, so a ratio
above 1 is variance, not a gain.`;
  if (!quick) writeBenchmarkSection('Supervisor', 'npm run bench:host', `${rows.join('\n')}\n${notes}`);
}

await main();
