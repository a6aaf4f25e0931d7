// The host outlives its surroundings: a log reader that goes away, steps
// of the wall clock, an environment with names no shell keeps.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { SnapshotStore } from '../../src/store/index.js';
import { Supervisor, createLogger, restartPolicyOptions } from '../../src/host/index.js';
import { ROOT, fixture, killQuietly, nthMatch, scratch, startHost, storedSequences, until } from './harness.js';

t.test('the log reader goes away: the host keeps running, captures, restarts and stops with a final capture', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const host = work.start(['--dir', state, '--interval', '0', '--size', '64K', '--restart-delay', '1ms',
    '--', process.execPath, fixture('counter.js'), '--rate', '200']);
  await host.stdout.waitFor(/resumed at 0/, 20_000);
  const first = Number((await nthMatch(host.stderr, /started child (\d+)/, 1))[1]);
  // The reader of the host's stderr exits: every later log line meets EPIPE.
  host.child.stderr!.destroy();
  host.child.kill('SIGUSR1');
  await until('the requested capture', async () => (await storedSequences(state)).length === 1);
  process.kill(first, 'SIGKILL');
  await host.stdout.waitFor(/resumed at [1-9]/, 20_000);
  await until('the post-mortem capture', async () => (await storedSequences(state)).length === 2);
  host.child.kill('SIGTERM');
  const exit = await host.exited;
  t.same(exit, { code: 0, signal: null }, 'the child stopped cleanly on SIGTERM and the host exited with its status');
  const reasons = await storedReasons(state);
  t.same(reasons.filter((r, i) => reasons.indexOf(r) === i), ['request', 'post-mortem', 'shutdown'], `requested, post-mortem and shutdown captures all stored (${reasons.join(', ')})`);
});

/** The reason of each generation in `dir`, oldest first. */
async function storedReasons(dir: string): Promise<string[]> {
  const store = await SnapshotStore.open(dir, { readOnly: true });
  try {
    return (await store.list()).flatMap((g) => (g.ok ? [g.manifest.reason] : ['damaged'])).reverse();
  } finally {
    await store.close();
  }
}

t.test('a line the logger cannot write is dropped, counted and reported once the stream is back', async (t) => {
  const lines: string[] = [];
  let broken = true;
  const logger = createLogger({ format: 'text', quiet: false, write: (line) => (broken ? false : void lines.push(line)) });
  logger.log('info', 'a', 'one');
  logger.log('info', 'b', 'two');
  t.equal(logger.dropped, 2);
  broken = false;
  logger.log('info', 'c', 'three');
  t.same(lines, ['shm-host: warn: 2 log line(s) could not be written and were dropped\n', 'shm-host: three\n']);
});

t.test('a step of the wall clock changes neither run times nor the restart window', async (t) => {
  const realNow = Date.now;
  let step = 0;
  // Every reading of the wall clock is an hour later than the last.
  Date.now = () => realNow() + (step += 3_600_000);
  t.teardown(() => {
    Date.now = realNow;
  });
  const dir = mkdtempSync(`${tmpdir()}/shm-host-clock-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const exits: Array<Record<string, unknown>> = [];
  let restarts = 0;
  const run = { stop: (): void => {} };
  const logger = {
    log(_level: string, event: string, _message: string, fields: Record<string, unknown> = {}) {
      if (event === 'exit') exits.push(fields);
      // Without a monotonic clock the window never fills: stop it rather than loop forever.
      if (event === 'restart' && ++restarts > 5) run.stop();
    },
  };
  const supervisor = new Supervisor({
    dir: `${dir}/state`, size: 64 * 1024, intervalMs: 0, keep: 2, stopTimeoutMs: 1000, command: 'sh', args: ['-c', 'exit 1'],
    logger, controlChannel: false,
    restart: restartPolicyOptions({ mode: 'always', maxRestarts: 2, windowMs: 60_000, initialDelayMs: 1 }),
  });
  run.stop = () => supervisor.stop();
  t.equal(await supervisor.run(), 1, 'gave up after 2 restarts within the 60 s window');
  t.equal(restarts, 2);
  t.equal(exits.length, 3);
  for (const exit of exits) t.ok((exit.ranMs as number) >= 0 && (exit.ranMs as number) < 60_000, `the child ran ${exit.ranMs} ms`);
});

t.test('the child gets exactly the host\'s environment plus LISTEN_*', async (t) => {
  const work = scratch(t);
  const out = execFileSync('env', ['a.b=1', 'my-var=2', 'PLAIN=3', '1st=4', process.execPath, `${fixture('../bin/shm-host.js')}`,
    '--dir', `${work.dir}/state`, '--restart', 'never', '--interval', '0', '--size', '64K', '--quiet', '--', 'env'], { encoding: 'utf8' });
  const seen = new Map(out.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  t.equal(seen.get('a.b'), '1');
  t.equal(seen.get('my-var'), '2');
  t.equal(seen.get('PLAIN'), '3');
  t.equal(seen.get('1st'), '4');
  t.equal(seen.get('LISTEN_FDS'), '1');
  t.equal(seen.get('LISTEN_FDNAMES'), 'SHM_SHARED_FD');
  t.match(seen.get('LISTEN_PID'), /^\d+$/);
  const expected = new Set([...Object.keys(process.env), 'a.b', 'my-var', 'PLAIN', '1st', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'LISTEN_PID']);
  // sh may add PWD, SHLVL or _ of its own; nothing of the host's is missing.
  t.same([...expected].filter((name) => !seen.has(name)), [], 'every variable of the host passed through');
});

for (const kind of ['sealable', 'unsealable'] as const) {
  t.test(`an inherited ${kind} shared file: a child that truncates it cannot kill the host`, async (t) => {
    const work = scratch(t);
    const state = `${work.dir}/state`;
    // The interval reads the file's header every 20 ms: a truncated file would kill the host there (SIGBUS).
    const child = `truncate -s 0 /proc/self/fd/3 2>/dev/null && echo truncated || echo refused; exec ${process.execPath} ${fixture('counter.js')} --rate 200`;
    const host = startHost([fixture('host-inherit.py'), kind, String(256 * 1024), process.execPath, `${ROOT}bin/shm-host.js`,
      '--dir', state, '--interval', '20ms', '--size', '256K', '--', 'sh', '-c', child], process.env, 'python3');
    t.teardown(() => killQuietly(host.pid));
    t.equal((await host.stdout.waitFor(/^(truncated|refused)$/, 20_000))[1], 'refused', 'the child cannot shrink its file');
    await host.stdout.waitFor(/resumed at 0/, 20_000);
    await until('interval captures', async () => (await storedSequences(state)).length >= 2);
    host.child.kill('SIGTERM');
    t.same(await host.exited, { code: 0, signal: null }, 'the host ended on SIGTERM with its child\'s status, after its final capture');
    await host.stderr.waitFor(/captured generation \d+ \(shutdown\)/, 1000);
  });
}

t.test('a log reader that stops reading (a full pipe) does not stop the host', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const host = startHost([fixture('host-stalled-stderr.py'), process.execPath, `${ROOT}bin/shm-host.js`,
    '--dir', state, '--interval', '0', '--size', '64K', '--', process.execPath, fixture('counter.js'), '--rate', '200'], process.env, 'python3');
  t.teardown(() => killQuietly(host.pid, 'SIGKILL'));
  await host.stdout.waitFor(/resumed at 0/, 20_000);
  host.child.kill('SIGUSR1');
  await until('the requested capture', async () => (await storedSequences(state)).length === 1);
  host.child.kill('SIGTERM');
  t.same(await host.exited, { code: 0, signal: null }, 'the host stopped its child and ended');
  t.equal((await storedSequences(state)).length, 2, 'with its final capture');
});
