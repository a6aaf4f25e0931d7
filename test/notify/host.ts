// The real host against a datagram double of the service manager: the file
// descriptor store always holds exactly the child's live file (the old one
// removed first), READY=1 once the child runs on it, STATUS=, the watchdog
// every half WATCHDOG_USEC, STOPPING=1, EXTEND_TIMEOUT_USEC= while it starts
// and while it saves the state at the stop, and a child that never sees the
// notification variables.
import t from 'tap';
import { fstatSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { BIN, fixture, nthMatch, scratch } from '../host/harness.js';
import { FakeServiceManager, type Notification } from './harness.js';

const WATCHDOG_USEC = 400_000;

/** The inode of the file a process has as fd 3. */
const fd3Inode = (pid: number): number => statSync(`/proc/${pid}/fd/3`).ino;

t.test('a host under a service manager: store, READY, STATUS, watchdog, STOPPING, timeouts extended; the child sees none of it', async (t) => {
  const manager = new FakeServiceManager('path');
  t.teardown(() => manager.close());
  const work = scratch(t);
  const env = { ...process.env, NOTIFY_SOCKET: manager.address, WATCHDOG_USEC: String(WATCHDOG_USEC), WATCHDOG_PID: '' };
  const child = `echo "env: NOTIFY_SOCKET=\${NOTIFY_SOCKET-unset} WATCHDOG_USEC=\${WATCHDOG_USEC-unset} WATCHDOG_PID=\${WATCHDOG_PID-unset}"; exec "$0" "$@"`;
  const host = work.start(['--dir', `${work.dir}/state`, '--size', '1M', '--interval', '100ms', '--restart-delay', '10ms', '--restart-max-delay', '10ms',
    '--log-format', 'json', '--', 'sh', '-c', child, process.execPath, fixture('records.js'), '--rate', '500'], env);
  const messages: Array<Notification & { at: number }> = [];
  const next = async (): Promise<Notification> => {
    const m = await manager.next(10_000);
    messages.push({ ...m, at: Date.now() });
    return m;
  };
  /** Messages up to and including the first whose first line is `first`. */
  const upTo = async (first: string): Promise<Notification[]> => {
    const seen: Notification[] = [];
    for (;;) {
      const m = await next();
      seen.push(m);
      if (m.lines[0] === first) return seen;
    }
  };

  const firstPid = Number(JSON.parse((await nthMatch(host.stderr, /"event":"started"/, 1)).input!).pid);
  t.match((await nthMatch(host.stdout, /^env: /, 1)).input, 'env: NOTIFY_SOCKET=unset WATCHDOG_USEC=unset WATCHDOG_PID=unset', 'the child gets no notification variable');

  const start = await upTo('READY=1');
  const stores = start.filter((m) => m.lines[0] === 'FDSTORE=1');
  t.equal(stores.length, 1, 'one file stored before READY=1');
  t.same(stores[0]!.lines, ['FDSTORE=1', 'FDNAME=SHM_SHARED_FD']);
  t.equal(stores[0]!.fds.length, 1);
  t.equal(fstatSync(stores[0]!.fds[0]!).ino, fd3Inode(firstPid), 'the stored file is the one the child runs on');
  const removeAt = start.findIndex((m) => m.lines[0] === 'FDSTOREREMOVE=1');
  t.ok(removeAt >= 0 && removeAt < start.indexOf(stores[0]!), 'the store is emptied first (FDSTOREREMOVE=1 before FDSTORE=1)');
  t.same(start[removeAt]!.lines, ['FDSTOREREMOVE=1', 'FDNAME=SHM_SHARED_FD']);
  t.equal(start[removeAt]!.fds.length, 0);
  const ready = start.at(-1)!;
  t.match(ready.lines[1], new RegExp(`^STATUS=child ${firstPid} running, 0 restarts, `), 'READY=1 carries the status line');

  // The watchdog: every half WATCHDOG_USEC, never early.
  const watchdogs: number[] = [];
  while (watchdogs.length < 4) {
    const m = await next();
    if (m.lines[0] === 'WATCHDOG=1') watchdogs.push(messages.at(-1)!.at);
  }
  for (let i = 1; i < watchdogs.length; i++) {
    const gap = watchdogs[i]! - watchdogs[i - 1]!;
    t.ok(gap >= WATCHDOG_USEC / 2000 - 50, `watchdog gap ${gap} ms is about half WATCHDOG_USEC (${WATCHDOG_USEC / 2000} ms)`);
  }

  // From here on the messages are read off the socket as they come, as systemd does: a
  // unix datagram socket queues only net.unix.max_dgram_qlen of them (10 by default),
  // and the watchdog alone fills that in 2 s while the test waits on a command.
  const drainer = setInterval(() => manager.drain(), 20);
  t.teardown(() => clearInterval(drainer));

  // A restart: the store is emptied, then given the new file.
  await nthMatch(host.stdout, /records: resumed at/, 1);
  process.kill(firstPid, 'SIGKILL');
  const secondPid = Number(JSON.parse((await nthMatch(host.stderr, /"event":"started"/, 2)).input!).pid);
  const afterKill = await upTo('FDSTORE=1');
  const stored = afterKill.at(-1)!;
  t.ok(afterKill.some((m) => m.lines[0] === 'FDSTOREREMOVE=1'), 'the old file is removed from the store');
  t.equal(stored.fds.length, 1);
  await nthMatch(host.stdout, /records: resumed at/, 2);
  t.equal(fstatSync(stored.fds[0]!).ino, fd3Inode(secondPid), 'the store now holds the restarted child\'s file');
  t.not(fstatSync(stored.fds[0]!).ino, fstatSync(stores[0]!.fds[0]!).ino, 'a new file, not the old one');
  let status: Notification;
  do status = await next(); while (!(status.lines[0] ?? '').startsWith(`STATUS=child ${secondPid} running, 1 restart,`));
  t.pass(`STATUS= names the new child and the restart: ${status.lines[0]}`);

  // The restart's phases, in the log and in status --json.
  const timeline = JSON.parse((await nthMatch(host.stderr, /"event":"restart-timeline"/, 1)).input!);
  t.match(timeline, { restart: 1, reapMs: Number, copyMs: Number, delayMs: Number, spawnMs: Number, totalMs: Number });
  t.ok(timeline.delayMs >= 10, `the delay phase (${timeline.delayMs} ms) covers the 10 ms restart delay`);
  const sum = timeline.reapMs + timeline.copyMs + timeline.delayMs + timeline.spawnMs;
  t.ok(Math.abs(sum - timeline.totalMs) < 0.1, 'the phases add up to the total');
  const status2 = JSON.parse((await execa(process.execPath, [BIN, 'status', '--json', '--dir', `${work.dir}/state`])).stdout);
  t.same(status2.lastRestart, Object.fromEntries(Object.keys(status2.lastRestart).map((k) => [k, timeline[k]])), 'status --json shows the same timeline');

  // Shutdown: STOPPING=1, and the host ends.
  process.kill(host.pid, 'SIGTERM');
  await upTo('STOPPING=1');
  t.match(messages.at(-1)!.lines[1], /^STATUS=stopping on SIGTERM/);
  t.match(await host.exited, { code: 0 });
  // systemd's timeouts are extended while the host starts (until READY=1) and while it saves the state at the stop.
  manager.drain();
  const firsts = manager.received.map((m) => m.lines[0]);
  const extension = 'EXTEND_TIMEOUT_USEC=15000000';
  t.ok(firsts.indexOf(extension) >= 0 && firsts.indexOf(extension) < firsts.indexOf('READY=1'), 'the start timeout is extended before READY=1');
  t.ok(firsts.slice(firsts.lastIndexOf('STOPPING=1') + 1).includes(extension), 'the stop timeout is extended for the final capture');
  t.notOk(messages.some((m) => m.lines.includes('MAINPID')), 'MAINPID is never sent: the host stays the main process');
});
