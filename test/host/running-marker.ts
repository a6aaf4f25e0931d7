// The host-running marker: a host that ended cleanly leaves none, and the
// next start skips the /proc search for a predecessor's writers (whose cost
// grows with the machine's processes); a host that was SIGKILLed leaves it,
// and the next start searches and kills what holds the old shared memory.
// The "writer" here is a python3 process holding a memfd of the directory's
// name, as a child that dropped privileges would.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { isAlive } from '../../src/sys/index.js';
import { HOST_RUNNING_MARKER } from '../../src/store/index.js';
import { killQuietly, scratch, until, untilDead } from './harness.js';

/** A python3 process that holds a memfd named as the host on `dir` names its files, mapped; resolves to its pid once it holds it. */
async function fakeWriter(t: Test, dir: string): Promise<number> {
  const { dev, ino } = statSync(dir);
  const script = [
    'import os, mmap, sys',
    `fd = os.memfd_create(${JSON.stringify(`shm-host:${dev}:${ino}`)})`,
    'os.ftruncate(fd, 4096)',
    'm = mmap.mmap(fd, 4096)',
    'print("ready", flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const p = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => killQuietly(p.pid));
  const [line] = (await once(p.stdout!, 'data')) as [Buffer];
  if (!line.toString().startsWith('ready')) throw new Error(`python3 said ${line}`);
  return p.pid!;
}

t.test('a clean end removes the marker and the next start looks for no writer; a SIGKILLed host leaves it and the next start kills them', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const marker = `${state}/${HOST_RUNNING_MARKER}`;
  const args = ['--dir', state, '--interval', '0', '--size', '256K', '--', process.execPath, '-e', 'console.log("up"); setInterval(() => {}, 1000)'];

  const first = work.start(args);
  await first.stdout.waitFor(/^up$/, 20_000);
  t.ok(existsSync(marker), 'a running host keeps the marker');
  first.child.kill('SIGTERM');
  t.equal((await first.exited).code, 143, 'the first host stopped');
  t.notOk(existsSync(marker), 'a clean end removes it');

  const writer = await fakeWriter(t, state);
  const second = work.start(args);
  await second.stdout.waitFor(/^up$/, 20_000);
  t.ok(isAlive(writer), 'after a clean end the next start looked for no writer');
  t.notMatch(second.stderr.lines.join('\n'), /killed/, 'and killed none');
  second.child.kill('SIGKILL');
  await second.exited;
  t.ok(existsSync(marker), 'a SIGKILLed host leaves the marker');

  const third = work.start(args);
  await third.stdout.waitFor(/^up$/, 20_000);
  await untilDead(writer);
  const lines = third.stderr.lines;
  const killed = lines.findIndex((l) => l.includes(`killed ${writer} (python3): they held the shared memory of a previous host`));
  const started = lines.findIndex((l) => /started child/.test(l));
  t.ok(killed >= 0 && killed < started, `the next start killed the writer before its child started:\n${lines.join('\n')}`);
  third.child.kill('SIGTERM');
  await third.exited;
  t.notOk(existsSync(marker), 'and its clean end removed the marker again');
});

t.test('a writer that appears while the host runs is killed at its end, and the marker goes with it', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const host = work.start(['--dir', state, '--interval', '0', '--size', '256K', '--', process.execPath, '-e', 'console.log("up"); setInterval(() => {}, 1000)']);
  await host.stdout.waitFor(/^up$/, 20_000);
  const writer = await fakeWriter(t, state);
  host.child.kill('SIGTERM');
  await host.exited;
  t.notOk(isAlive(writer), 'the end scan killed the writer');
  t.match(host.stderr.lines.join('\n'), new RegExp(`killed ${writer} \\(python3\\): they still held the shared memory as the host ends`));
  t.notOk(existsSync(`${state}/${HOST_RUNNING_MARKER}`), 'all dead: the marker is gone');
});

t.test('a writer that would not die keeps the marker, so the next start looks again', async (t) => {
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
  t.ok(existsSync(`${state}/${HOST_RUNNING_MARKER}`), 'and kept the marker for the next start');
  thaw();
  await untilDead(writer);
});
