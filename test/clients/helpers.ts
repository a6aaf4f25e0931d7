// The Python and C clients as the tests drive them: one tool per language
// (shm_tool.py, shm_tool.c) with the same commands and output. The C tool is
// compiled with `cc` into a temporary directory once per test file; a client
// whose toolchain is missing is skipped with a visible reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { memfdCreate } from '../../src/sys/index.js';
import { spawnShared, waitFor } from '../../fixtures/lib/shared-child.js';
import { imageOf, nthMatch, recordsInImage, until } from '../host/harness.js';

/** A host's output stream as test/host/harness.ts follows it. */
type LineLog = Parameters<typeof nthMatch>[0] & { waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> };
type Test = import('tap').Test;

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PY_TOOL = `${ROOT}test/clients/shm_tool.py`;
const C_TOOL = `${ROOT}test/clients/shm_tool.c`;

/** A client under test: how to start its tool (command and leading arguments). */
export interface ClientTool {
  readonly name: 'python' | 'c' | 'node';
  readonly command: string;
  readonly args: readonly string[];
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The Python tool, or why it cannot run here. */
export function pythonTool(): ClientTool | string {
  const probe = spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 9), sys.version'], { encoding: 'utf8' });
  if (probe.error) return `python3 is not installed (${probe.error.message})`;
  if (probe.status !== 0) return `python3 is older than 3.9: ${probe.stderr.trim()}`;
  return { name: 'python', command: 'python3', args: [PY_TOOL] };
}

/** The C tool compiled into a temporary directory (removed at teardown), or why it cannot be. */
export function cTool(t: Teardown): ClientTool | string {
  if (spawnSync('cc', ['--version']).error) return 'no C compiler (cc) is installed';
  const dir = mkdtempSync(`${tmpdir()}/shm-host-c-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const binary = `${dir}/shm_tool`;
  // Warnings are errors: the header must stay clean under strict C11.
  execFileSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, C_TOOL], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { name: 'c', command: binary, args: [] };
}

/**
 * The Node client's counterpart of the tools' `write` (fixtures/ack-writer.js:
 * the same arguments and output), for the tests that run every client's
 * durability waits under the real host.
 */
export function nodeWriter(): ClientTool {
  return { name: 'node', command: process.execPath, args: [`${ROOT}fixtures/ack-writer.js`] };
}

/** Every client tool available here; the missing ones are skipped visibly through `skip`. */
export function clientTools(t: Teardown & { comment(...m: unknown[]): void }): ClientTool[] {
  const tools: ClientTool[] = [];
  for (const tool of [pythonTool(), cTool(t)]) {
    if (typeof tool === 'string') t.comment(`SKIP a client: ${tool}`);
    else tools.push(tool);
  }
  return tools;
}

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `tool command...` with `fd` as its fd 3 and LISTEN_* as the host sets them (`listen` overrides). */
export async function runTool(tool: ClientTool, fd: number | null, args: string[], listen: Record<string, string | undefined> = {}): Promise<ToolResult> {
  return (await spawnShared(tool.command, [...tool.args, ...args], { fd, listen }).exited) as ToolResult;
}

/** Runs the tool and parses the last line of its output as JSON; fails on a crash. */
export async function toolJson<T>(tool: ClientTool, fd: number | null, args: string[], listen: Record<string, string | undefined> = {}): Promise<{ status: number | null; value: T; stderr: string }> {
  const r = await runTool(tool, fd, args, listen);
  if (r.signal !== null) throw new Error(`${tool.name} ${args.join(' ')} died of ${r.signal}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  try {
    return { status: r.code, value: JSON.parse(lines.at(-1)!) as T, stderr: r.stderr };
  } catch {
    throw new Error(`${tool.name} ${args.join(' ')} (status ${r.code}) printed no JSON: ${r.stdout}${r.stderr}`);
  }
}

/** What the tools' `read` prints. */
export interface ReadView {
  slots: number;
  ring: number;
  write_offset: string;
  records: { offset: string; length: number; index?: number; defect?: string }[];
  durable_offset: string;
  snapshot_seq: string;
  replicated_offset: string;
  tail_size: number;
  tail_crc: number;
}

/** A fresh memfd of `size` bytes, closed at teardown. */
export function memfd(t: Teardown, size: number): number {
  const fd = memfdCreate('clients-test');
  ftruncateSync(fd, size);
  t.teardown(() => closeSync(fd));
  return fd;
}

/** The tail pattern the tools write for `--tail-seed S`: xorshift32 steps, low byte each. */
export function tailPattern(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0 || 1;
  for (let k = 0; k < length; k++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[k] = s & 0xff;
  }
  return out;
}

/** Version v of a double buffer as the tools write it: 100 + v % 900 bytes of xorshift32 output seeded like the record codec. */
export function dbufVersion(v: number): Uint8Array {
  return tailPattern(((v ^ 0x9e3779b9) >>> 0) || 1, 100 + (v % 900));
}

/** What the tools' `dbuf-read` and `dbuf-write` print. */
export interface DbufView {
  version: number;
  length: number;
  intact: boolean;
  recovered: boolean;
  /** CRC-32 of the bytes read. */
  crc: number;
}

/**
 * The last complete line of the commit log at `path` as a number (null when
 * there is none), reading only the file's end: a fast writer's log grows to
 * megabytes, and a storm reads it hundreds of times.
 */
export function lastLogged(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.alloc(Math.min(size, 64));
    readSync(fd, chunk, 0, chunk.length, size - chunk.length);
    const text = chunk.toString('latin1');
    const end = text.lastIndexOf('\n');
    if (end < 0) return null;
    const line = text.slice(text.lastIndexOf('\n', end - 1) + 1, end);
    if (!/^[0-9]+$/.test(line)) throw new Error(`${path}: the last line is not a number: ${JSON.stringify(line)}`);
    return Number(line);
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGKILLs `tool`'s writer `kills` times under the real shm-host, at varied
 * points (after 1 to 30 more logged commits each time), and checks after
 * every kill: the child resumes at or after the last index it logged as
 * committed, and the post-mortem generation holds only intact, consecutive
 * records reaching at least that far. Then a clean stop of the host and a
 * new host on the same directory: the child resumes exactly where it was.
 */
export async function killStorm(
  t: Test,
  tool: ClientTool,
  kills: number,
  host: { dir: string; start(args: string[]): { pid: number; child: { kill(s: NodeJS.Signals): boolean }; stdout: LineLog; stderr: LineLog; exited: Promise<unknown> } },
): Promise<void> {
  const log = `${host.dir}/committed.log`;
  // Fast, so that kills also land inside commits: Python as fast as it goes
  // (it spends most of its time encoding records), C at 20,000 a second.
  const rate = tool.name === 'python' ? 0 : 20_000;
  const args = ['--dir', `${host.dir}/state`, '--interval', '50ms', '--size', '1M', '--restart-delay', '0ms', '--max-restarts', String(kills * 2),
    '--keep', String(kills * 10), '--', tool.command, ...tool.args, 'write', '--rate', String(rate), '--log', log];
  const resumedRe = new RegExp(`^${tool.name}: resumed at (\\d+)`);
  const first = host.start(args);
  let checked = 0;
  for (let kill = 1; kill <= kills; kill++) {
    const resumed = Number((await nthMatch(first.stdout, resumedRe, kill))[1]);
    const pid = Number((await nthMatch(first.stderr, /started child (\d+)/, kill))[1]);
    const more = 1 + Math.floor(Math.random() * 30);
    await until(`${more} more commits after ${resumed}`, () => (lastLogged(log) ?? 0) >= resumed + more, 20_000);
    process.kill(pid, 'SIGKILL');
    const logged = lastLogged(log) ?? 0;
    const next = Number((await nthMatch(first.stdout, resumedRe, kill + 1))[1]);
    if (next < logged) t.fail(`kill ${kill}: index ${logged} was logged as committed, the child resumed at ${next}`);
    const sequence = Number((await nthMatch(first.stderr, /captured generation (\d+) \(post-mortem\)/, kill))[1]);
    const { indexes } = recordsInImage((m) => t.fail(`kill ${kill}: ${m}`), await imageOf(`${host.dir}/state`, sequence));
    checked += indexes.length;
    const gap = indexes.findIndex((v, i) => i > 0 && v !== indexes[i - 1]! + 1);
    if (gap >= 0) t.fail(`kill ${kill}: record indexes are not consecutive at ${indexes[gap]}`);
    if ((indexes.at(-1) ?? 0) < logged) t.fail(`kill ${kill}: the post-mortem generation ends at ${indexes.at(-1)}, ${logged} was committed`);
  }
  t.ok(checked > kills, `${tool.name}: ${kills} SIGKILLs, ${checked} records in the post-mortem generations checked intact and consecutive`);

  // A clean stop (the host captures after the child exits), then a new host.
  const resumedBefore = await nthMatch(first.stdout, resumedRe, kills + 1);
  await until('a commit after the last restart', () => (lastLogged(log) ?? 0) > Number(resumedBefore[1]), 20_000);
  first.child.kill('SIGTERM');
  await first.exited;
  const logged = lastLogged(log) ?? 0;
  const second = host.start(args);
  const resumed = Number((await second.stdout.waitFor(resumedRe, 30_000))[1]);
  t.ok(resumed >= logged && resumed <= logged + 1, `${tool.name}: after a host restart the child resumed at ${resumed}; it had logged ${logged}`);
}

const SYS_FUTEX = process.arch === 'arm64' ? 98 : 202;

/** Is `pid` blocked in futex(2) right now? */
export function inFutex(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/syscall`, 'utf8').startsWith(`${SYS_FUTEX} `);
  } catch {
    return false;
  }
}

/** What a tool's wait-durable / wait-replicated printed last: whether it came, when it woke (CLOCK_MONOTONIC ns), its CPU time, the word then. */
export interface WaitResult { durable?: boolean; replicated?: boolean; woke_ns: string; cpu_ns: number; durable_offset?: string; replicated_offset?: string; code: string }

/** Starts `wait-durable` or `wait-replicated` in `tool`; resolves once it sleeps in the futex. */
export async function futexWaiter(tool: ClientTool, fd: number, word: 'durable' | 'replicated', offset: bigint, timeoutMs: number): Promise<{ pid: number; done: Promise<WaitResult> }> {
  const child = spawnShared(tool.command, [...tool.args, `wait-${word}`, '--offset', String(offset), '--timeout-ms', String(timeoutMs)], { fd });
  const first = await child.firstLine();
  if (first === null || !first.startsWith('waiting')) throw new Error(`${tool.name} wait-${word} did not start: ${child.stderr}`);
  await waitFor(`${tool.name} to sleep in futex`, () => inFutex(child.pid!), { timeout: 10_000 });
  const done = child.exited.then((r) => {
    if (r.code !== 0) throw new Error(`${tool.name} wait-${word} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as WaitResult;
  });
  return { pid: child.pid!, done };
}
