// Starting a child can fail for a moment (fork EAGAIN with a pids cgroup at
// its limit): a failed start is a failed restart, retried under the restart
// policy with the real errno in the log, never the host's end.
import t from 'tap';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { fixture, lastLogged, nthMatch, scratch, until } from './harness.js';

const PIDS = '/sys/fs/cgroup/pids';

/** A pids cgroup of its own (cgroup v1 pids controller, or v2), or why not. */
function pidsCgroup(name: string): { dir: string } | string {
  for (const root of [PIDS, '/sys/fs/cgroup']) {
    const dir = `${root}/${name}`;
    try {
      mkdirSync(dir);
      readFileSync(`${dir}/pids.max`);
      return { dir };
    } catch {
      try {
        rmdirSync(dir);
      } catch {
        // not made
      }
    }
  }
  return 'no writable pids cgroup here (needs root and a pids controller, v1 or v2)';
}

t.test('fork EAGAIN at a restart (pids cgroup at its limit): the host logs it, retries and restarts the child once it can', async (t) => {
  const cgroup = pidsCgroup(`shm-host-test-${process.pid}`);
  t.teardown(() => {
    // After the hosts stopped (teardowns run last first): the cgroup is empty by then.
    if (typeof cgroup !== 'string') rmdirSync(cgroup.dir);
  });
  const work = scratch(t);
  if (typeof cgroup === 'string') return void t.skip(cgroup);
  const log = `${work.dir}/committed.log`;
  const host = work.start(['--dir', `${work.dir}/state`, '--interval', '50ms', '--size', '64K', '--restart-delay', '100ms',
    '--', process.execPath, fixture('counter.js'), '--rate', '500', '--log', log]);
  await host.stdout.waitFor(/resumed at 0/, 20_000);
  const child = Number((await nthMatch(host.stderr, /started child (\d+)/, 1))[1]);
  await until('some commits', () => (lastLogged(log) ?? 0) > 10);
  // The host alone goes into the cgroup (its child stays where it is), which then admits no new task.
  writeFileSync(`${cgroup.dir}/cgroup.procs`, String(host.pid));
  writeFileSync(`${cgroup.dir}/pids.max`, readFileSync(`${cgroup.dir}/pids.current`, 'utf8').trim());
  process.kill(child, 'SIGKILL');
  await nthMatch(host.stderr, /the child could not be started: .*EAGAIN/, 2, 20_000);
  const logged = lastLogged(log)!;
  writeFileSync(`${cgroup.dir}/pids.max`, 'max');
  const resumed = Number((await host.stdout.waitFor(/resumed at (\d+)/, 20_000, 1))[1]);
  t.ok(resumed >= logged, `the restarted child resumed at ${resumed}, at or after the last committed value ${logged}`);
  t.match(host.stderr.lines.join('\n'), /the child could not be started: spawn setpriv failed: EAGAIN; the restart policy decides when to try again\n.*restarting the child \(restart 2\)/, 'the failed start is logged with its errno, and is a failed restart');
  host.child.kill('SIGTERM');
  t.same(await host.exited, { code: 0, signal: null }, 'the host ran on and stopped cleanly');
});
