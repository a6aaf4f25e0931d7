// The notification protocol against a test double of the service manager:
// real datagram sockets (path and abstract), real memfds passed through them.
import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memfdCreate } from '../../src/sys/index.js';
import { Notifier, hostStatus, readNotifyEnvironment, statusLine, withoutNotifyVariables, type NotifyFailure } from '../../src/host/notify/index.js';
import { FakeServiceManager, abstractAddress } from './harness.js';

const O_CLOEXEC = 0o2000000;
const fdFlags = (fd: number): number => parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);

function managed(t: { teardown(fn: () => unknown): void }, kind: 'path' | 'abstract', env: NodeJS.ProcessEnv = {}): { manager: FakeServiceManager; notifier: Notifier } {
  const manager = new FakeServiceManager(kind);
  const notifier = new Notifier({ env: { NOTIFY_SOCKET: manager.address, ...env } });
  t.teardown(() => {
    notifier.close();
    manager.close();
  });
  return { manager, notifier };
}

for (const kind of ['path', 'abstract'] as const) {
  t.test(`READY, STATUS and STOPPING reach a ${kind} socket, one datagram each`, async (t) => {
    const { manager, notifier } = managed(t, kind);
    t.ok(notifier.enabled);
    t.same(notifier.ready('child 42 running'), { sent: true });
    t.same(notifier.status('1 restart\nlast capture: generation 3'), { sent: true });
    t.same(notifier.stopping(), { sent: true });
    t.same((await manager.next()).lines, ['READY=1', 'STATUS=child 42 running']);
    t.same((await manager.next()).lines, ['STATUS=1 restart last capture: generation 3'], 'a status is one line');
    t.same((await manager.next()).lines, ['STOPPING=1']);
    t.notOk(manager.received.some((m) => m.lines.some((l) => l.startsWith('MAINPID='))), 'MAINPID is never sent');
    t.ok(manager.received.every((m) => m.fds.length === 0), 'no descriptor without FDSTORE');
  });

  t.test(`FDSTORE hands a ${kind} socket the very memfd, named SHM_SHARED_FD, replacing the stored one`, async (t) => {
    const { manager, notifier } = managed(t, kind);
    const fd = memfdCreate('shm-notify-test');
    t.teardown(() => closeSync(fd));
    writeSync(fd, Buffer.from('marker-1'), 0, 8, 0);
    t.same(notifier.storeSharedFile(fd), { sent: true });
    const removedFirst = await manager.next();
    t.same(removedFirst.lines, ['FDSTOREREMOVE=1', 'FDNAME=SHM_SHARED_FD'], 'the stored file is removed first, in a datagram of its own');
    t.same(removedFirst.fds, []);
    const stored = await manager.next();
    t.same(stored.lines, ['FDSTORE=1', 'FDNAME=SHM_SHARED_FD']);
    t.equal(stored.fds.length, 1, 'exactly one descriptor');
    const got = stored.fds[0]!;
    t.not(got, fd, 'the receiver has its own descriptor');
    t.equal(fstatSync(got).ino, fstatSync(fd).ino, 'same inode');
    t.equal(fstatSync(got).dev, fstatSync(fd).dev, 'same device');
    const read = Buffer.alloc(8);
    readSync(got, read, 0, 8, 0);
    t.equal(read.toString(), 'marker-1', 'a byte written through the host reads back through the stored descriptor');
    writeSync(got, Buffer.from('marker-2'), 0, 8, 0);
    readSync(fd, read, 0, 8, 0);
    t.equal(read.toString(), 'marker-2', 'and the other way round: one file');
    t.ok(fdFlags(got) & O_CLOEXEC, 'received descriptors are close-on-exec');

    t.same(notifier.storeSharedFile(fd, { replace: false }), { sent: true });
    t.same((await manager.next()).lines, ['FDSTORE=1', 'FDNAME=SHM_SHARED_FD'], 'replace: false only adds');
    t.same(notifier.removeSharedFile(), { sent: true });
    const removed = await manager.next();
    t.same(removed.lines, ['FDSTOREREMOVE=1', 'FDNAME=SHM_SHARED_FD']);
    t.same(removed.fds, []);
  });
}

t.test('WATCHDOG=1 every half WATCHDOG_USEC, from a timer that never keeps the host alive', async (t) => {
  const { manager, notifier } = managed(t, 'abstract', { WATCHDOG_USEC: '100000' });
  t.equal(notifier.environment.watchdogIntervalMs, 50, 'half of 100 ms');
  const started = Date.now();
  t.equal(notifier.startWatchdog(), 50);
  t.equal(notifier.startWatchdog(), 50, 'starting twice keeps one timer');
  for (let i = 0; i < 3; i++) t.same((await manager.next()).lines, ['WATCHDOG=1']);
  // A timer never fires early: three keep-alives cannot arrive before three periods.
  t.ok(Date.now() - started >= 3 * 50 - 2, 'not sent more often than every half WATCHDOG_USEC');
  notifier.stopWatchdog();
  notifier.status('stopped');
  // A check of absence: three periods with no timer may pass slowly on a busy
  // machine, which only makes it weaker, never flaky.
  await new Promise((r) => setTimeout(r, 3 * 50));
  notifier.status('later');
  let m = await manager.next();
  while (m.lines[0] === 'WATCHDOG=1') m = await manager.next(); // sent before the stop
  t.same(m.lines, ['STATUS=stopped']);
  t.same((await manager.next()).lines, ['STATUS=later'], 'no keep-alive after stopWatchdog');
});

t.test('the watchdog obeys WATCHDOG_PID and refuses unusable values', async (t) => {
  const socket = abstractAddress();
  t.equal(readNotifyEnvironment({ NOTIFY_SOCKET: socket, WATCHDOG_USEC: '3000000', WATCHDOG_PID: String(process.pid) }, process.pid).watchdogIntervalMs, 1500);
  const other = readNotifyEnvironment({ NOTIFY_SOCKET: socket, WATCHDOG_USEC: '3000000', WATCHDOG_PID: '1' }, process.pid);
  t.equal(other.watchdogIntervalMs, null, 'the watchdog of another process is not ours to feed');
  t.same(other.problems, []);
  t.equal(new Notifier({ env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '3000000', WATCHDOG_PID: '1' } }).startWatchdog(), null);
  const bad = readNotifyEnvironment({ NOTIFY_SOCKET: socket, WATCHDOG_USEC: 'soon' }, process.pid);
  t.equal(bad.watchdogIntervalMs, null);
  t.match(bad.problems, [/WATCHDOG_USEC=soon/]);
  t.equal(readNotifyEnvironment({ WATCHDOG_USEC: '3000000' }, process.pid).watchdogIntervalMs, 1500, 'parsed even without a socket');
  t.equal(new Notifier({ env: { WATCHDOG_USEC: '3000000' } }).startWatchdog(), null, 'but without a socket nothing is sent');
  const relative = readNotifyEnvironment({ NOTIFY_SOCKET: 'run/notify' }, process.pid);
  t.equal(relative.socket, null);
  t.match(relative.problems, [/NOTIFY_SOCKET=run\/notify is neither an absolute path nor an @abstract name/]);
});

t.test('a host process whose only timer is the watchdog still exits by itself', async (t) => {
  const manager = new FakeServiceManager('abstract');
  t.teardown(() => manager.close());
  const module = fileURLToPath(new URL('../../dist/host/notify/index.js', import.meta.url));
  const script = `const { Notifier } = await import(${JSON.stringify(module)}); const n = new Notifier(); if (n.startWatchdog() !== 5) process.exit(3); n.watchdog();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, NOTIFY_SOCKET: manager.address, WATCHDOG_USEC: '10000' }, stdio: 'inherit',
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 0, 'exited on its own with the watchdog started');
  t.same((await manager.next()).lines, ['WATCHDOG=1']);
});

t.test('without NOTIFY_SOCKET every notification is a no-op', async (t) => {
  const notifier = new Notifier({ env: {} });
  t.notOk(notifier.enabled);
  const fd = memfdCreate('unused');
  t.teardown(() => closeSync(fd));
  for (const result of [notifier.ready('x'), notifier.status('x'), notifier.stopping(), notifier.watchdog(), notifier.storeSharedFile(fd), notifier.removeSharedFile()]) {
    t.same(result, { sent: false, reason: 'disabled' });
  }
  t.equal(notifier.startWatchdog(), null);
  notifier.close();
});

t.test('a failed send is returned as data and reported once per outage', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shm-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const address = join(dir, 'notify');
  const failures: NotifyFailure[] = [];
  const notifier = new Notifier({ env: { NOTIFY_SOCKET: address }, onFailure: (f) => failures.push(f) });
  t.teardown(() => notifier.close());
  const first = notifier.ready();
  t.match(first, { sent: false, reason: 'failed', error: /ENOENT.*nothing listens/ });
  t.match(notifier.status('again'), { sent: false, reason: 'failed' });
  t.equal(failures.length, 1, 'two failures in a row, one report');
  t.match(failures[0], { what: 'READY=1', socket: address, message: /sendmsg .* failed: ENOENT/ });

  const manager = new FakeServiceManager('path', address);
  t.same(notifier.status('back'), { sent: true });
  t.same((await manager.next()).lines, ['STATUS=back']);
  manager.close();
  t.match(notifier.watchdog(), { sent: false, reason: 'failed', error: /ECONNREFUSED|ENOENT/ });
  t.equal(failures.length, 2, 'a new outage after a success is reported again');
  t.equal(failures[1]!.what, 'WATCHDOG=1');

  // A number no descriptor can have (far above RLIMIT_NOFILE): a closed one could be reused by the sockets below.
  const closedFd = 1 << 30;
  const manager2 = new FakeServiceManager('abstract');
  t.teardown(() => manager2.close());
  const n2 = new Notifier({ env: { NOTIFY_SOCKET: manager2.address } });
  t.teardown(() => n2.close());
  t.match(n2.storeSharedFile(closedFd), { sent: false, reason: 'failed', error: /EBADF/ }, 'a closed descriptor fails, never throws');
});

t.test('a manager that stops reading makes sends fail with EAGAIN instead of blocking the host', async (t) => {
  const { manager, notifier } = managed(t, 'abstract');
  let result = notifier.watchdog();
  let sentCount = 0;
  // The kernel queues at most net.unix.max_dgram_qlen datagrams (512 by default) per receiver.
  for (; result.sent && sentCount < 100_000; sentCount++) result = notifier.watchdog();
  t.match(result, { sent: false, reason: 'failed', error: /EAGAIN.*queue is full/ });
  t.ok(sentCount > 0);
  manager.drain();
  t.same(notifier.status('drained'), { sent: true }, 'sends work again once the manager reads');
});

t.test('the child environment loses the notification variables, the host keeps them', async (t) => {
  const env = { NOTIFY_SOCKET: '/run/user/0/systemd/notify', WATCHDOG_USEC: '1000', WATCHDOG_PID: '7', PATH: '/bin', INVOCATION_ID: 'abc' };
  t.same(withoutNotifyVariables(env), { PATH: '/bin', INVOCATION_ID: 'abc' });
  t.equal(env.NOTIFY_SOCKET, '/run/user/0/systemd/notify', 'the original is untouched');
});

t.test('status lines are one short line', async (t) => {
  t.equal(statusLine('a\nb\r\n\tc'), 'a b c');
  const long = statusLine('x'.repeat(500));
  t.equal(long.length, 200);
  t.ok(long.endsWith('…'));
  t.equal(hostStatus({ childPid: 42, restarts: 1, lastCapture: { sequence: 7, time: '2026-11-29T21:00:00.000Z' } }),
    'child 42 running, 1 restart, last capture: generation 7 at 2026-11-29T21:00:00.000Z');
  t.equal(hostStatus({ childPid: null, restarts: 0, lastCapture: null }), 'no child running, 0 restarts, no capture yet');
});
