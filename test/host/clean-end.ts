// The mark of a clean end: a host that ended cleanly leaves it, and the next
// start takes it and skips the /proc search for a predecessor's writers
// (whose cost grows with the machine's processes); a host that was
// SIGKILLed, or a directory without the mark, gets the search, which kills
// what holds the old shared memory.
// The "writer" here is a python3 process holding a memfd of the directory's
// name, as a child that dropped privileges would.
import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../src/sys/index.js';
import { CLEAN_END_MARKER } from '../../src/store/index.js';
import { createLogger } from '../../src/host/index.js';
import { endStaleWriters } from '../../src/host/stale-writers.js';
import { killQuietly, scratch, until, untilDead } from './harness.js';

/** A python3 script that creates memfd `name`, maps it, then creates file `ready` (if given) or says "ready", and waits. */
function holderScript(name: string, ready?: string): string {
  return [
    'import os, mmap, sys, time',
    `fd = os.memfd_create('${name}')`,
    'os.ftruncate(fd, 4096)',
    'm = mmap.mmap(fd, 4096)',
    ready === undefined ? 'print(\'ready\', flush=True)' : `open('${ready}', 'w').close()`,
    'time.sleep(600)',
  ].join('\n');
}

/** A python3 process holding a mapped memfd named `name`; resolves to its pid once it holds it. */
async function namedHolder(t: Test, name: string): Promise<number> {
  const p = spawn('python3', ['-c', holderScript(name)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => killQuietly(p.pid));
  const [line] = (await once(p.stdout!, 'data')) as [Buffer];
  if (!line.toString().startsWith('ready')) throw new Error(`python3 said ${line}`);
  return p.pid!;
}

/** A process holding a memfd named as the host on `dir` names its files. */
function fakeWriter(t: Test, dir: string): Promise<number> {
  const { dev, ino } = statSync(dir);
  return namedHolder(t, `shm-host:${dev}:${ino}`);
}

t.test('a clean end leaves the mark and the next start looks for no writer; a SIGKILLed host leaves none and the next start kills them', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const mark = `${state}/${CLEAN_END_MARKER}`;
  const args = ['--dir', state, '--interval', '0', '--size', '256K', '--', process.execPath, '-e', 'console.log("up"); setInterval(() => {}, 1000)'];

  const first = work.start(args);
  await first.stdout.waitFor(/^up$/, 20_000);
  t.notOk(existsSync(mark), 'a running host has no mark');
  first.child.kill('SIGTERM');
  t.equal((await first.exited).code, 143, 'the first host stopped');
  t.ok(existsSync(mark), 'a clean end leaves it');

  const writer = await fakeWriter(t, state);
  const second = work.start(args);
  await second.stdout.waitFor(/^up$/, 20_000);
  t.notOk(existsSync(mark), 'the next start took it');
  t.ok(isAlive(writer), 'and, after a clean end, looked for no writer');
  t.notMatch(second.stderr.lines.join('\n'), /killed/, 'and killed none');
  second.child.kill('SIGKILL');
  await second.exited;
  t.notOk(existsSync(mark), 'a SIGKILLed host leaves no mark');

  const third = work.start(args);
  await third.stdout.waitFor(/^up$/, 20_000);
  await untilDead(writer);
  const lines = third.stderr.lines;
  const killed = lines.findIndex((l) => l.includes(`killed ${writer} (python3): they held the shared memory of a previous host`));
  const started = lines.findIndex((l) => /started child/.test(l));
  t.ok(killed >= 0 && killed < started, `the next start killed the writer before its child started:\n${lines.join('\n')}`);
  third.child.kill('SIGTERM');
  await third.exited;
  t.ok(existsSync(mark), 'and its clean end left the mark again');
});

t.test('a directory without the mark (as an older version leaves it) gets the search', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  mkdirSync(state, { mode: 0o700 });
  const writer = await fakeWriter(t, state);
  const host = work.start(['--dir', state, '--interval', '0', '--size', '256K', '--', process.execPath, '-e', 'console.log("up"); setInterval(() => {}, 1000)']);
  await host.stdout.waitFor(/^up$/, 20_000);
  await untilDead(writer);
  t.match(host.stderr.lines.join('\n'), new RegExp(`killed ${writer} \\(python3\\): they held the shared memory of a previous host`));
});

t.test('a holder that appears between two looks (a fork as its parent was killed) is found by the next look and killed too', async (t) => {
  const dir = mkdtempSync(`${tmpdir()}/shm-host-stale-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const name = `stale-test-${process.pid}`;
  const first = await namedHolder(t, name);
  let second: number | null = null;
  // Called right after the first SIGKILL, before the next look: a second holder of the same
  // file starts then, as a child the first forked just before it died would.
  const logger = createLogger({
    format: 'text',
    quiet: false,
    write: (line) => {
      if (second !== null || !line.includes('killed')) return;
      const ready = join(dir, 'ready');
      // Waits for the holder's mark at most 30 s (3000 looks), then fails: the test does not hang on a holder that never starts.
      const wait = `i=0; until [ -e ${ready} ] || [ $i -ge 3000 ]; do sleep 0.01; i=$((i + 1)); done; [ -e ${ready} ]`;
      try {
        execFileSync('sh', ['-c', `python3 -c "${holderScript(name, ready)}" </dev/null >/dev/null 2>&1 & echo $! > ${dir}/pid; ${wait}`], { stdio: 'ignore', timeout: 60_000 });
      } finally {
        // Known even when the wait failed: the teardown then kills it rather than leave it running.
        if (existsSync(join(dir, 'pid'))) second = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      }
    },
  });
  t.teardown(() => killQuietly(second ?? undefined));
  const result = await endStaleWriters(name, logger, 'end');
  t.ok(second !== null, 'the second holder started after the first look');
  t.same(result, { killed: [first, second], living: [] }, 'both were killed, the second by the next look');
  await untilDead(second!);
});

t.test('a writer that appears while the host runs is killed at its end, which is then clean', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const host = work.start(['--dir', state, '--interval', '0', '--size', '256K', '--', process.execPath, '-e', 'console.log("up"); setInterval(() => {}, 1000)']);
  await host.stdout.waitFor(/^up$/, 20_000);
  const writer = await fakeWriter(t, state);
  host.child.kill('SIGTERM');
  await host.exited;
  t.notOk(isAlive(writer), 'the end scan killed the writer');
  t.match(host.stderr.lines.join('\n'), new RegExp(`killed ${writer} \\(python3\\): they still held the shared memory as the host ends`));
  t.ok(existsSync(`${state}/${CLEAN_END_MARKER}`), 'all dead: the end is marked clean');
});

t.test('a writer that would not die leaves the end unmarked, so the next start looks again', async (t) => {
  // A task in a frozen cgroup (v1 freezer) takes SIGKILL only once thawed: a writer that outlives the host's end.
  const freezer = '/sys/fs/cgroup/freezer';
  if (process.getuid?.() !== 0 || !existsSync(`${freezer}/cgroup.procs`)) return void t.skip('needs root and the cgroup v1 freezer (/sys/fs/cgroup/freezer) to freeze a writer');
  const group = mkdtempSync(`${freezer}/shm-host-test-`);
  const thaw = (): void => {
    try {
      writeFileSync(`${group}/freezer.state`, 'THAWED');
    } catch {
      // Gone already.
    }
  };
  t.teardown(async () => {
    thaw();
    await until('the frozen group to empty', () => readFileSync(`${group}/cgroup.procs`, 'utf8').trim() === '');
    rmdirSync(group);
  });
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const host = work.start(['--dir', state, '--interval', '0', '--size', '256K', '--', process.execPath, '-e', 'console.log("up"); setInterval(() => {}, 1000)']);
  await host.stdout.waitFor(/^up$/, 20_000);
  const writer = await fakeWriter(t, state);
  writeFileSync(`${group}/cgroup.procs`, String(writer));
  writeFileSync(`${group}/freezer.state`, 'FROZEN');
  await until('the writer to be frozen', () => readFileSync(`${group}/freezer.state`, 'utf8').trim() === 'FROZEN');
  host.child.kill('SIGTERM');
  await host.exited;
  t.match(host.stderr.lines.join('\n'), new RegExp(`processes ${writer} still hold the shared memory after SIGKILL`), 'the host said the writer lives on');
  t.notOk(existsSync(`${state}/${CLEAN_END_MARKER}`), 'and did not mark its end clean');
  thaw();
  await untilDead(writer);
});
