// Durability-wait benchmark (npm run bench:durable): how long after the host
// publishes durable_offset a child waiting for it resumes, in each client,
// against the plainest wake-up of the same language measured the same way in
// the same run; and the CPU time a wait uses while it blocks for 1 s.
//
// The driver plays the host. Each waiter is its own process (a child, as under
// shm-host) with its own memfd as fd 3. In a round, the driver waits until the
// waiter sleeps in the expected system call (/proc/PID/syscall), after a random
// 0-3 ms pause (so that the Node client's 1 ms poll is met at a random phase),
// takes CLOCK_MONOTONIC and then publishes with the host's own publishDurable
// (durable_offset = round + 1, then FUTEX_WAKE); the waiter takes
// CLOCK_MONOTONIC once its wait returns and prints it. Waiters:
//   client   Node state.durable(), Python wait_durable(), C shm_host_wait_durable()
//   futex    C and Python: a bare loop on the same word (load, compare,
//            FUTEX_WAIT) woken by the same publishDurable: the kernel's part
//   pipe     a one-byte write to the waiter's stdin, read by read(2) in C,
//            os.read in Python, a 'data' event in Node: the language's plainest
//            wake-up by another process
// Rounds go round-robin over all waiters, so a noisy neighbour slows them alike.
// Writes the "Durability wait" section of docs/BENCHMARKS.md; BENCH_QUICK=1 is a
// smoke run that writes nothing.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, getPriority, loadavg, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { attach } from '../src/client/index.js';
import { publishDurable } from '../src/live/index.js';
import { memfdCreate } from '../src/sys/index.js';
import { writeBenchmarkSection } from './lib/benchmarks-doc.js';
import { median } from './lib/median.js';

const quick = process.env.BENCH_QUICK === '1';
const root = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = quick ? 20 : 500;
const IDLE_MS = 1000;
const ARM = process.arch === 'arm64';
const SYS_READ = ARM ? 63 : 0;
const SYS_FUTEX = ARM ? 98 : 202;

type Kind = 'client' | 'futex' | 'pipe';

interface Waiter {
  language: string;
  kind: Kind;
  what: string;
  child: ChildProcess;
  fd: number;
  lines: AsyncIterator<string>;
  /** System call the waiter must be blocked in before a publication (null: any). */
  blockedIn: number | null;
  samples: number[];
}

interface Program {
  language: string;
  command: string;
  args(mode: string, n: number): string[];
  kinds: Partial<Record<Kind, string>>;
  /** The Node waiter sleeps in epoll between its polls: any system call will do. */
  anySyscall?: boolean;
}

function programs(dir: string, notes: string[]): Program[] {
  const list: Program[] = [{
    language: `Node ${process.version}`,
    command: process.execPath,
    args: (mode, n) => [`${root}scripts/lib/bench_durable_node.js`, mode, String(n)],
    kinds: { client: 'state.durable()', pipe: 'stdin \'data\' event' },
    anySyscall: true,
  }];
  const python = spawnSync('python3', ['-c', 'import platform; print(platform.python_version())'], { encoding: 'utf8' });
  if (python.error || python.status !== 0) {
    notes.push('Python: skipped, python3 is not installed');
  } else {
    list.push({
      language: `Python ${python.stdout.trim()}`,
      command: 'python3',
      args: (mode, n) => [`${root}scripts/lib/bench_durable.py`, mode, String(n), `${root}clients/python`],
      kinds: { client: 'wait_durable()', futex: 'bare FUTEX_WAIT (ctypes)', pipe: 'os.read of stdin' },
    });
  }
  if (spawnSync('cc', ['--version']).error) {
    notes.push('C: skipped, no C compiler (cc)');
  } else {
    const binary = `${dir}/bench_durable`;
    execFileSync('cc', ['-std=c11', '-O2', '-o', binary, `${root}scripts/lib/bench_durable.c`]);
    list.push({
      language: 'C (cc -O2)',
      command: binary,
      args: (mode, n) => [mode, String(n)],
      kinds: { client: 'shm_host_wait_durable()', futex: 'bare FUTEX_WAIT', pipe: 'read(2) of stdin' },
    });
  }
  return list;
}

/** A configured 1 MiB memfd (as the host hands over), for one waiter. */
function sharedFile(): number {
  const fd = memfdCreate('bench-durable');
  ftruncateSync(fd, 1 << 20);
  attach({ fd, env: {} }).close();
  return fd;
}

function start(p: Program, mode: string, n: number, fd: number): { child: ChildProcess; lines: AsyncIterator<string> } {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('LISTEN_')) delete env[name];
  const child = spawn(p.command, p.args(mode, n), { stdio: ['pipe', 'pipe', 'inherit', fd], env });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, lines };
}

async function line(w: { lines: AsyncIterator<string> }, what: string): Promise<string> {
  const next = await w.lines.next();
  if (next.done) throw new Error(`${what} ended early`);
  return next.value;
}

/** The system call the process is blocked in (its number), or null while it runs. */
function blockedSyscall(pid: number): number | null {
  const text = readFileSync(`/proc/${pid}/syscall`, 'utf8');
  return /^\d+ /.test(text) ? Number(text.slice(0, text.indexOf(' '))) : null;
}

async function untilBlocked(w: Waiter): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = blockedSyscall(w.child.pid!);
    if (now !== null && (w.blockedIn === null || now === w.blockedIn)) return;
    if (Date.now() > deadline) throw new Error(`${w.language} ${w.what} did not block (in system call ${now})`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** How long each publishDurable call took (ns): the host's part of every futex row. */
const publishNs: number[] = [];

async function round(w: Waiter, r: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
  await untilBlocked(w);
  const at = process.hrtime.bigint();
  if (w.kind === 'pipe') w.child.stdin!.write('x');
  else {
    if (publishDurable(w.fd, BigInt(r + 1), r + 1) === null) throw new Error('publishDurable refused');
    publishNs.push(Number(process.hrtime.bigint() - at));
  }
  const woke = await line(w, `${w.language} ${w.what}`);
  if (!woke.startsWith('woke ')) throw new Error(`${w.language} ${w.what}: ${woke}`);
  w.samples.push(Number(BigInt(woke.slice(5)) - at));
}

/** CPU time (ns) of one process per program blocked for IDLE_MS: in the client's wait, and in a plain sleep. */
async function idleCpu(list: Program[]): Promise<{ language: string; client: number; sleep: number }[]> {
  const runs = list.flatMap((p) => ['idle-client', 'idle-sleep'].map(async (mode) => {
    const fd = sharedFile();
    try {
      const c = start(p, mode, IDLE_MS, fd);
      const out = await line(c, `${p.language} ${mode}`);
      const m = /^cpu (\d+) wall (\d+)$/.exec(out);
      if (m === null || Number(m[2]) < IDLE_MS * 1e6) throw new Error(`${p.language} ${mode}: ${out}`);
      return Number(m[1]);
    } finally {
      closeSync(fd);
    }
  }));
  const cpu = await Promise.all(runs);
  return list.map((p, i) => ({ language: p.language, client: cpu[2 * i]!, sleep: cpu[2 * i + 1]! }));
}

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.99) - 1]!;
const us = (ns: number): string => `${(ns / 1e3).toFixed(ns < 1e5 ? 1 : 0)} µs`;
const times = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)}x`;

async function main(): Promise<void> {
  const dir = mkdtempSync(`${tmpdir()}/shm-host-bench-durable-`);
  const notes: string[] = [];
  const waiters: Waiter[] = [];
  const loadBefore = loadavg()[0]!;
  let idle: Awaited<ReturnType<typeof idleCpu>>;
  try {
    const list = programs(dir, notes);
    for (const p of list) {
      for (const [kind, what] of Object.entries(p.kinds) as [Kind, string][]) {
        const fd = sharedFile();
        const { child, lines } = start(p, kind, ROUNDS, fd);
        const blockedIn = p.anySyscall ? null : kind === 'pipe' ? SYS_READ : SYS_FUTEX;
        const w: Waiter = { language: p.language, kind, what, child, fd, lines, blockedIn, samples: [] };
        waiters.push(w);
        if ((await line(w, `${p.language} ${what}`)) !== 'ready') throw new Error(`${p.language} ${what} did not start`);
      }
    }
    for (let r = 0; r < ROUNDS; r++) for (const w of waiters) await round(w, r);
    idle = await idleCpu(list);
  } finally {
    for (const w of waiters) {
      w.child.kill();
      closeSync(w.fd);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const load = `${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after, on ${cpus().length} cores; this run's nice value ${getPriority()}`;
  const of = (w: Waiter, kind: Kind): Waiter | undefined => waiters.find((x) => x.language === w.language && x.kind === kind);
  const table = [
    '| language | waiter | median | p99 | median / pipe | p99 / pipe | median / bare futex |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...waiters.map((w) => {
      const pipe = of(w, 'pipe')!;
      const futex = of(w, 'futex');
      return `| ${w.language} | ${w.kind === 'client' ? `**${w.what}**` : w.what} | ${us(median(w.samples))} | ${us(p99(w.samples))} | ${times(median(w.samples) / median(pipe.samples))} | ${times(p99(w.samples) / p99(pipe.samples))} | ${futex && w.kind === 'client' ? times(median(w.samples) / median(futex.samples)) : ''} |`;
    }),
    ...notes.map((n) => `| ${n} | | | | | | |`),
  ].join('\n');
  const cpuTable = [
    `| language | CPU while waiting ${IDLE_MS} ms in the client | CPU while sleeping ${IDLE_MS} ms (baseline) |`,
    '| --- | --- | --- |',
    ...idle!.map((i) => `| ${i.language} | ${us(i.client)} | ${us(i.sleep)} |`),
  ].join('\n');
  console.log(table);
  console.log(cpuTable);
  const host = `${us(median(publishNs))} median, ${us(p99(publishNs))} p99`;
  console.log(`load: ${load}; publishDurable calls took ${host}`);
  if (quick) return;
  writeBenchmarkSection('Durability wait', 'npm run bench:durable', `
How long after the host publishes \`durable_offset\` a child waiting for it
resumes, in each client, against the plainest wake-up of the same language
measured the same way in the same run (\`scripts/bench-durable.ts\`, waiters
\`scripts/lib/bench_durable.{c,py}\`, \`scripts/lib/bench_durable_node.js\`).
Each waiter is its own process with its own 1 MiB memfd as fd 3. In each of
${ROUNDS} rounds, going round-robin over the waiters, the driver waits until
the waiter sleeps in its system call (\`/proc/PID/syscall\`) plus a random
0-3 ms, reads CLOCK_MONOTONIC and publishes with the host's own
\`publishDurable\` (header mapping, store, \`FUTEX_WAKE\`); the waiter reads
CLOCK_MONOTONIC when its wait returns. Baselines: a bare \`FUTEX_WAIT\` loop
on the same word woken by the same \`publishDurable\` (C, Python: what the
kernel and the host's publication cost by themselves), and a one-byte pipe
write to the waiter's stdin (\`read(2)\`, \`os.read\`, a \`'data'\` event).
Load average (other work shares the machine): ${load}.

${table}

In the client and bare futex rows the clock starts before the host's
\`publishDurable\` call, so they include its part before the wake: it maps
the header, stores, wakes and unmaps (the whole call took ${host} in this
run), and that is most of what puts them above the pipe. What a client adds
is its row against the bare futex loop woken by the same call (last column).

The C and Python clients sleep in \`FUTEX_WAIT\` on \`durable_offset\` and the
host's wake ends the sleep: their time is the kernel's wake-up and the
scheduler's, as for the bare loop and the pipe. The Node client cannot block
its only thread (src/client/durable.ts): while a wait is pending it reads the
word every 1 ms from a timer, so it resolves up to about 1 ms after a
publication plus the event loop's own wake-up: its median is set by the
timer, not by the wake.

CPU time of a process blocked for ${IDLE_MS} ms waiting for an offset nobody
publishes (\`timeout\` / an \`AbortSignal.timeout\`), against the same process
sleeping as long (\`nanosleep\`, \`time.sleep\`, \`setTimeout\`). C and Python
wake every 20 ms to re-read the word (a host that does not wake is still seen);
Node runs its 1 ms poll while the wait is pending. With no wait pending none of
them runs anything.

${cpuTable}
`);
}

await main();
