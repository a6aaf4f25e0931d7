// A host (bin/shm-host.js) run by a benchmark, and the lines it and its
// child print, followed as they arrive.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/shm-host.js');
/** The benchmarks' child (fixtures/bench-child.js). */
export const benchChild = join(root, 'fixtures/bench-child.js');

export interface Lines {
  next(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  all: string[];
}

/** Follows a stream line by line; next() resolves with the next line matching `re`. */
export function follow(stream: NodeJS.ReadableStream): Lines {
  const all: string[] = [];
  let waiter: { re: RegExp; resolve: (m: RegExpMatchArray) => void } | null = null;
  let seen = 0;
  createInterface({ input: stream }).on('line', (line) => {
    all.push(line);
    if (waiter) {
      const m = line.match(waiter.re);
      if (m) {
        seen = all.length;
        const w = waiter;
        waiter = null;
        w.resolve(m);
      }
    }
  });
  return {
    all,
    next(re, timeoutMs = 60_000) {
      for (let i = seen; i < all.length; i++) {
        const m = all[i]!.match(re);
        if (m) {
          seen = i + 1;
          return Promise.resolve(m);
        }
      }
      seen = all.length;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}`)), timeoutMs);
        waiter = { re, resolve: (m) => { clearTimeout(timer); resolve(m); } };
      });
    },
  };
}

/** The `n`th line (from 1) of `lines` matching `re`, polled until it arrives or `timeoutMs` passes. */
export async function nthLine(lines: Lines, re: RegExp, n: number, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = lines.all.filter((l) => re.test(l));
    if (found.length >= n) return found[n - 1]!;
    if (Date.now() > deadline) throw new Error(`timed out waiting for line ${n} matching ${re}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Starts bin/shm-host.js (or the build's `hostBin`) on `dir` with JSON logs
 * and `hostArgs`, running fixtures/bench-child.js with `childArgs`; its
 * stdout (the child's lines) and stderr (the host's log) are followed;
 * `exited` resolves with its exit.
 */
export function startHost(dir: string, hostArgs: string[], childArgs: string[], hostBin = bin): { proc: ChildProcess; out: Lines; err: Lines; exited: Promise<unknown> } {
  const proc = spawn(process.execPath, [hostBin, '--dir', dir, '--log-format', 'json', ...hostArgs, '--', process.execPath, benchChild, ...childArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  return { proc, out: follow(proc.stdout!), err: follow(proc.stderr!), exited };
}
