// When the host itself dies, the child dies with it (parent-death signal),
// and the next host restores the last durable generation.
import t from 'tap';
import { chmodSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { isAlive } from '../../src/sys/index.js';
import { copyRecord, latestOf, readLayout, validSlots } from '../../src/format/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { fetchStatus } from '../../src/host/control/index.js';
import { scratch, fixture, killQuietly, readImage, lastLogged, nthMatch, storedSequences, until, untilDead } from './harness.js';

/** The counter value held by the newest verified generation in `dir`. */
async function newestDurableValue(dir: string): Promise<number> {
  const store = await SnapshotStore.open(dir, { readOnly: true });
  try {
    const { generation } = await store.newestVerified();
    if (!generation) throw new Error('no verified generation');
    const bytes = await readImage(store, generation);
    const { layout } = readLayout(bytes);
    const latest = latestOf(validSlots(bytes, layout));
    if (!latest) throw new Error('the newest generation holds no record');
    return Number(new DataView(copyRecord(bytes, layout, latest).buffer).getBigUint64(0, true));
  } finally {
    await store.close();
  }
}

const generations = async (dir: string): Promise<number> => (await storedSequences(dir)).length;

t.test('SIGKILL of the host: the child dies, a new host restores the last durable generation', async (t) => {
  const work = scratch(t);
  const dir = work.dir;
  const state = `${dir}/state`;
  const log = `${dir}/committed.log`;
  const args = ['--dir', state, '--interval', '100ms', '--size', '256K', '--', process.execPath, fixture('counter.js'), '--rate', '1000', '--log', log];
  const first = work.start(args);
  await first.stdout.waitFor(/resumed at 0/, 20_000);
  const child = Number((await nthMatch(first.stderr, /started child (\d+)/, 1))[1]);
  await until('a few interval captures', async () => (await generations(state)) >= 2);

  first.child.kill('SIGKILL');
  await first.exited;
  const t0 = Date.now();
  await untilDead(child, 2000);
  t.ok(Date.now() - t0 < 1000, `the child died ${Date.now() - t0} ms after its host`);
  const logged = lastLogged(log)!;
  const durable = await newestDurableValue(state);
  t.ok(durable > 0 && durable <= logged + 1, `the newest durable generation holds ${durable}; the child logged up to ${logged}`);

  const second = work.start(args);
  const resumed = Number((await second.stdout.waitFor(/resumed at (\d+)/, 20_000))[1]);
  t.equal(resumed, durable, 'the new host restored the newest durable generation');
  t.ok(logged - resumed <= 1000, `lost ${logged - resumed} commits, at most what the child commits in about one interval and a kill`);
});

t.test('an idle child costs no captures; SIGUSR1 takes one now', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  // bench-child commits once, then stays idle.
  const host = work.start(['--dir', state, '--interval', '20ms', '--size', '64K', '--', process.execPath, fixture('bench-child.js')]);
  await host.stdout.waitFor(/^ready 1$/, 20_000);
  await until('the one commit to be captured', async () => (await generations(state)) >= 1);
  // Watch the interval timer tick through the live channel. A capture that
  // raced the commit may be followed by one more at the next tick (the host
  // cannot tell which side of the commit its copy saw); after that, many
  // ticks and no new generation.
  const ticks = async (n: number): Promise<void> => {
    const dues = new Set<string>();
    await until(`${n} interval ticks`, async () => {
      const status = await fetchStatus(state, 5000);
      if (status.nextCaptureDue) dues.add(status.nextCaptureDue);
      return dues.size >= n;
    }, 30_000);
  };
  await ticks(3);
  const settled = await generations(state);
  t.ok(settled <= 2, `${settled} generation(s) for one commit`);
  await ticks(10);
  t.equal(await generations(state), settled, 'ten ticks with an idle child stored nothing');
  host.child.kill('SIGUSR1');
  await until('a requested capture', async () => (await generations(state)) === settled + 1);
  t.pass('SIGUSR1 stored a generation although nothing changed');
});

t.test('a child that dropped privileges outlives a SIGKILLed host, and dies before the next host starts a child', async (t) => {
  if (process.getuid?.() !== 0) return void t.skip('needs root: setpriv --reuid changes the child\'s user');
  const work = scratch(t);
  chmodSync(work.dir, 0o777);
  const state = `${work.dir}/state`;
  const log = `${work.dir}/committed.log`;
  const args = ['--dir', state, '--interval', '100ms', '--size', '256K',
    '--', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, fixture('counter.js'), '--rate', '500', '--log', log];
  const first = work.start(args);
  await first.stdout.waitFor(/resumed at 0/, 20_000);
  // setpriv execs the program: the child's pid is the counter's.
  const child = Number((await nthMatch(first.stderr, /started child (\d+)/, 1))[1]);
  t.teardown(() => killQuietly(child));
  await until('a durable generation', async () => (await generations(state)) >= 1);
  first.child.kill('SIGKILL');
  await first.exited;
  // The kernel cleared its parent-death signal when it changed user: it runs on, on the old memory.
  const before = lastLogged(log)!;
  await until('the orphaned child to keep committing', () => lastLogged(log)! > before + 10);

  const second = work.start(args);
  const resumed = Number((await second.stdout.waitFor(/resumed at (\d+)/, 20_000))[1]);
  t.notOk(isAlive(child), 'the old child is dead');
  const lines = second.stderr.lines;
  const killed = lines.findIndex((l) => new RegExp(`killed ${child} \\(node\\): they held the shared memory of a previous host`).test(l));
  const started = lines.findIndex((l) => /started child/.test(l));
  t.ok(killed >= 0 && killed < started, `the old child was killed before the new one started:\n${lines.join('\n')}`);
  t.ok(resumed <= lastLogged(log)!, `one writer at a time: resumed at ${resumed}`);
});

t.test('the OOM killer kills the host: the child dies with it, a new host restores the last durable generation', async (t) => {
  const cgroup = `/sys/fs/cgroup/memory/shm-host-oom-${process.pid}`;
  try {
    mkdirSync(cgroup);
  } catch (err) {
    return void t.skip(`no memory cgroup (v1) to make here: ${(err as Error).message}`);
  }
  t.teardown(() => rmdirSync(cgroup));
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const log = `${work.dir}/committed.log`;
  const args = ['--dir', state, '--interval', '50ms', '--size', '256K', '--', process.execPath, fixture('counter.js'), '--rate', '1000', '--log', log];
  const first = work.start(args);
  await first.stdout.waitFor(/resumed at 0/, 20_000);
  const child = Number((await nthMatch(first.stderr, /started child (\d+)/, 1))[1]);
  await until('a few interval captures', async () => (await generations(state)) >= 2);
  // The host alone moves into a cgroup with room for almost nothing: its next allocations call the OOM killer.
  writeFileSync(`${cgroup}/cgroup.procs`, String(first.pid));
  writeFileSync(`${cgroup}/memory.limit_in_bytes`, String(256 * 1024));
  const exit = await first.exited;
  t.same(exit, { code: null, signal: 'SIGKILL' }, 'the host was killed');
  t.match(readFileSync(`${cgroup}/memory.oom_control`, 'utf8'), /oom_kill [1-9]/, 'by the OOM killer');
  await untilDead(child, 2000);
  const durable = await newestDurableValue(state);
  const logged = lastLogged(log)!; // before the next child appends to the same log
  const second = work.start(args);
  const resumed = Number((await second.stdout.waitFor(/resumed at (\d+)/, 20_000))[1]);
  t.equal(resumed, durable, 'the new host restored the newest durable generation');
  t.ok(logged - resumed <= 1000, `lost ${logged - resumed} commits, about one interval's`);
});
