// Running the command line in-process with captured streams (what most CLI
// tests and the fuzzing use: a process per case would be far too slow), and
// the real binary for the cases that need a process. Run directly, this
// file checks the harness itself.
import fs from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { Test } from 'tap';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import type { CliCommand } from '../../src/cli/command.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
  /** stdout as text. */
  readonly out: string;
}

export interface RunOptions {
  /** Bytes on stdin (default: empty). */
  readonly stdin?: Buffer | Readable;
  /** Pretend stdout and stderr are terminals. */
  readonly tty?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/** A stream that records what is written to it, optionally posing as a terminal. */
function recorder(tty: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; chunks: Buffer[] } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  if (tty) {
    stream.isTTY = true;
    stream.columns = 100;
  }
  return { stream, chunks };
}

/** Runs `shm-host argv...` in this process. */
export async function runCli(argv: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const out = recorder(options.tty === true);
  const err = recorder(options.tty === true);
  const stdin = options.stdin instanceof Readable ? options.stdin : Readable.from(options.stdin ? [options.stdin] : []);
  const io: CliIo = { stdout: out.stream, stderr: err.stream, stdin, env: options.env ?? {} };
  const code = await main(argv, io);
  // Let the recorders take what was written last.
  await new Promise((resolve) => setImmediate(resolve));
  const stdout = Buffer.concat(out.chunks);
  return { code, stdout, out: stdout.toString('utf8'), stderr: Buffer.concat(err.chunks).toString('utf8') };
}

export const BIN = fileURLToPath(new URL('../../bin/shm-host.js', import.meta.url));

/** Runs the real binary (the compiled dist/). */
export async function runBin(argv: readonly string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const r = await execa('node', [BIN, ...argv], { reject: false, encoding: 'buffer', input: options.input ?? '', env: options.env, stripFinalNewline: false });
  const stdout = Buffer.from(r.stdout);
  return { code: r.exitCode ?? -1, stdout, out: stdout.toString('utf8'), stderr: Buffer.from(r.stderr).toString('utf8') };
}

/** The one-line error contract: exactly one line, prefixed, with no stack trace and no internal error. */
export function isOneLineError(stderr: string): boolean {
  return /^shm-host: [^\n]+\n$/.test(stderr) && !/internal error|\n\s+at /.test(stderr);
}

/** A running fixtures/cli-host.js (wrapped: the process itself is a promise, and would be awaited). */
export interface TestHost {
  readonly process: ResultPromise;
  readonly pid: number;
}

/** Hosts started per test, stopped before their directories are removed. */
const hostsOf = new WeakMap<Test, ResultPromise[]>();

/**
 * A directory for a test that runs hosts in it. Not t.testdir(): tap
 * removes that before later teardowns run, which would pull the directory
 * from under a host still writing it. Here one teardown stops every host of
 * the test first, then removes the directory.
 */
export function hostDir(t: Test): string {
  const dir = t.testdirName;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hosts: ResultPromise[] = [];
  hostsOf.set(t, hosts);
  t.teardown(async () => {
    for (const host of hosts) host.kill('SIGTERM');
    await Promise.all(hosts);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Starts fixtures/cli-host.js on `dir` (inside hostDir(t)) and resolves once it listens. */
export async function startHost(t: Test, dir: string, ...options: string[]): Promise<TestHost> {
  const hosts = hostsOf.get(t);
  if (!hosts) throw new Error('call hostDir(t) before startHost');
  const host = execa('node', ['--import', 'tsx', fileURLToPath(new URL('../../fixtures/cli-host.js', import.meta.url)), dir, ...options], { reject: false });
  hosts.push(host);
  await new Promise<void>((resolve, reject) => {
    host.stdout!.on('data', (d: Buffer) => d.toString().startsWith('ready') && resolve());
    void host.then((r) => reject(new Error(`host ended: ${r.stderr}`)));
  });
  return { process: host, pid: host.pid! };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { default: t } = await import('tap');
  t.test('the harness captures stdout, stderr and the exit code of main()', async (t) => {
    const version = await runCli(['--version']);
    t.equal(version.code, 0);
    t.match(version.out, /^\d+\.\d+\.\d+\n$/);
    const bad = await runCli(['--no-such-option']);
    t.equal(bad.code, 2);
    t.ok(isOneLineError(bad.stderr), bad.stderr);
    t.notOk(isOneLineError('shm-host: a\nshm-host: b\n'), 'two lines are not one');
    t.notOk(isOneLineError('shm-host: internal error: x\n'));
  });
}

/** Every subcommand's definition, by name, loaded on demand: for tests that go through each one's options. */
export const SUBCOMMANDS: Record<string, () => Promise<CliCommand<any>>> = {
  run: async () => (await import('../../src/cli/run.js')).runCommand,
  list: async () => (await import('../../src/cli/list.js')).listCommand,
  show: async () => (await import('../../src/cli/show.js')).showCommand,
  verify: async () => (await import('../../src/cli/verify.js')).verifyCommand,
  cat: async () => (await import('../../src/cli/cat.js')).catCommand,
  export: async () => (await import('../../src/cli/export.js')).exportCommand,
  import: async () => (await import('../../src/cli/import.js')).importCommand,
  prune: async () => (await import('../../src/cli/prune.js')).pruneCommand,
  restore: async () => (await import('../../src/cli/restore.js')).restoreCommand,
  status: async () => (await import('../../src/cli/status.js')).statusCommand,
  snapshot: async () => (await import('../../src/cli/snapshot.js')).snapshotCommand,
};

/**
 * The text `--help` output gives option `name` (or, with `positional`, the
 * option or positional `name`), its wrapped lines joined, blanks squeezed;
 * '' when it has no entry.
 */
export function helpEntry(help: string, name: string, positional = false): string {
  const lines = help.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\s+${positional ? '((-\\w, )?--)?' : '(-\\w, )?--'}${name}\\s`).test(l));
  if (at < 0) return '';
  const own = [lines[at]!];
  for (const l of lines.slice(at + 1)) {
    if (/^\s+(-\w, )?--\w/.test(l) || l.trim() === '') break;
    own.push(l);
  }
  return own.join(' ').replace(/\s+/g, ' ');
}
