// Runs the real shm-host binary as a separate process and follows its output
// line by line, so tests wait on events instead of sleeping.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { SnapshotStore, type Generation } from '../../src/store/index.js';
import { isAlive } from '../../src/sys/index.js';
import { checkRecordSet, copyRecord, readLayout, validSlots } from '../../src/format/index.js';
import { decodeRecord, recordDefect } from '../../fixtures/lib/record-codec.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${ROOT}bin/shm-host.js`;
export const fixture = (name: string): string => `${ROOT}fixtures/${name}`;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Lines seen on one stream, with waiters for a line matching a pattern. */
class LineLog {
  readonly lines: string[] = [];
  #waiters: Array<{ re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void; fail: (e: Error) => void }> = [];
  #closed = false;

  push(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      const m = line.match(w.re);
      if (m && this.lines.length > w.from) {
        w.resolve(m);
        return false;
      }
      return true;
    });
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#waiters) w.fail(new Error(`the stream ended without a line matching ${w.re}; last lines:\n${this.lines.slice(-30).join('\n')}`));
    this.#waiters = [];
  }

  /** The first line matching `re` among lines number `from` onwards (waiting for it). */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    for (let i = from; i < this.lines.length; i++) {
      const m = this.lines[i]!.match(re);
      if (m) return Promise.resolve(m);
    }
    if (this.#closed) return Promise.reject(new Error(`the stream ended without a line matching ${re}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no line matching ${re} within ${timeoutMs} ms; lines so far:\n${this.lines.slice(-30).join('\n')}`));
      }, timeoutMs);
      this.#waiters.push({
        re,
        from,
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        fail: (e) => { clearTimeout(timer); reject(e); },
      });
    });
  }
}

export interface HostProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly stdout: LineLog;
  readonly stderr: LineLog;
  readonly exited: Promise<Exit>;
}

/**
 * Starts `shm-host ...args`; stdout and stderr are followed line by line.
 * With `program`, runs `program ...args` instead (a wrapper that execs the host).
 */
export function startHost(args: string[], env: NodeJS.ProcessEnv = process.env, program?: string): HostProcess {
  const child = spawn(program ?? process.execPath, program ? args : [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const stdout = new LineLog();
  const stderr = new LineLog();
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l)).on('close', () => stdout.close());
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l)).on('close', () => stderr.close());
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, pid: child.pid!, stdout, stderr, exited };
}

/** Polls `check` until it returns a value other than undefined/false, or fails at the deadline. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 50);
  }
}

/** Waits until `pid` is dead (a zombie counts as dead). */
export function untilDead(pid: number, timeoutMs = 5000): Promise<true> {
  return until(`process ${pid} to die`, () => !isAlive(pid), timeoutMs);
}

/** Kills a process if it still runs (test cleanup). */
export function killQuietly(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Sequence numbers of the committed generations in `dir`, read as the inspection commands do. */
export async function storedSequences(dir: string): Promise<number[]> {
  const store = await SnapshotStore.open(dir, { readOnly: true });
  try {
    return (await store.list()).map((g) => g.sequence);
  } finally {
    await store.close();
  }
}

/** The values the counter fixture logged as committed, and the last one. */
export { readCommitLog as loggedValues, lastLogged } from '../../fixtures/lib/commit-log.js';

/** Waits until `log` has at least `n` lines matching `re`, and returns the n-th match (1-based). */
export function nthMatch(log: { lines: string[] }, re: RegExp, n: number, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return until(`line ${n} matching ${re}`, () => {
    let seen = 0;
    for (const line of log.lines) {
      const m = line.match(re);
      if (m && ++seen === n) return m;
    }
    return undefined;
  }, timeoutMs);
}

/**
 * A scratch directory for one test and the hosts it starts: one teardown
 * stops every host (SIGTERM, then SIGKILL), waits for them, and only then
 * removes the directory, so no host ever writes into a removed one.
 */
export function scratch(t: { teardown(fn: () => unknown): void }): { dir: string; start(args: string[], env?: NodeJS.ProcessEnv): HostProcess } {
  const dir = mkdtempSync(`${tmpdir()}/shm-host-test-`);
  const hosts: HostProcess[] = [];
  t.teardown(async () => {
    for (const host of hosts) {
      killQuietly(host.pid, 'SIGTERM');
      const timer = setTimeout(() => killQuietly(host.pid, 'SIGKILL'), 5000);
      await host.exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    start(args, env) {
      const host = startHost(args, env);
      hosts.push(host);
      return host;
    },
  };
}

/** Mounts a tiny tmpfs at `dir`; returns why not where the machine refuses. */
export function mountTmpfs(dir: string, size: string): string | null {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
  }
}

/** Fills the filesystem of `path` until it refuses even one more page. */
export function fill(path: string): void {
  let i = 0;
  for (const size of [64 * 1024, 4096]) {
    const chunk = Buffer.alloc(size, 1);
    for (;; i++) {
      try {
        writeFileSync(`${path}.${i}`, chunk);
      } catch {
        i += 1;
        break;
      }
    }
  }
}

/** The whole image `generation` stands for, read from `store` (through its chain when it is a delta). */
export async function readImage(store: SnapshotStore, generation: Generation): Promise<Uint8Array> {
  const chain = await store.openChain(generation);
  try {
    const bytes = new Uint8Array(chain.size);
    await chain.read(bytes, 0, chain.size, 0);
    return bytes;
  } finally {
    await chain.close();
  }
}

/** The whole image of generation `sequence` of the snapshot directory `dir` (opened read-only, beside a running host). */
export async function imageOf(dir: string, sequence: number): Promise<Uint8Array> {
  const store = await SnapshotStore.open(dir, { readOnly: true });
  try {
    return await readImage(store, await store.get(sequence));
  } finally {
    await store.close();
  }
}

/**
 * Every valid record of the snapshot image `bytes`, decoded with the
 * self-checking codec, oldest first, and the newest one's offset; `fail` is
 * called for each torn record (its index is then -1).
 */
export function recordsInImage(fail: (message: string) => unknown, bytes: Uint8Array): { indexes: number[]; latestOffset: bigint | null } {
  const { layout } = readLayout(bytes);
  const records = checkRecordSet(layout, validSlots(bytes, layout));
  const indexes = records.map((slot) => {
    const data = copyRecord(bytes, layout, slot);
    const defect = recordDefect(data);
    if (defect) fail(`record at offset ${slot.offset} is torn: ${defect}`);
    return defect ? -1 : decodeRecord(data);
  });
  return { indexes, latestOffset: records.at(-1)?.offset ?? null };
}

/** A seeded xorshift32 generator of numbers in [0, 1), so that a failing random test can be replayed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
