// The supervisor's link to the service manager, against the datagram double:
// READY once, statuses rate-limited, the store replaced, shutdown, logging.
import t from 'tap';
import { closeSync, fstatSync } from 'node:fs';
import { memfdCreate } from '../../src/sys/index.js';
import { ServiceManagerLink } from '../../src/host/notify/index.js';
import type { Logger } from '../../src/host/logger.js';
import { FakeServiceManager } from './harness.js';

function recorder(): { logger: Logger; events: Array<{ level: string; event: string; message: string }> } {
  const events: Array<{ level: string; event: string; message: string }> = [];
  return { events, logger: { log: (level, event, message) => void events.push({ level, event, message }) } };
}

function linked(t: { teardown(fn: () => unknown): void }, statusIntervalMs = 100, extendEveryMs?: number) {
  const manager = new FakeServiceManager('abstract');
  const { logger, events } = recorder();
  const link = new ServiceManagerLink({ logger, env: { NOTIFY_SOCKET: manager.address }, statusIntervalMs, ...(extendEveryMs === undefined ? {} : { extendEveryMs }) });
  t.teardown(() => {
    link.close();
    manager.close();
  });
  return { manager, link, events };
}

t.test('READY=1 goes once, with the first status; later runs only update the status', async (t) => {
  const { manager, link } = linked(t, 0);
  link.start();
  link.childRunning('child 10 running, 0 restarts');
  link.childRunning('child 11 running, 1 restart');
  t.same((await manager.next()).lines, ['EXTEND_TIMEOUT_USEC=15000000'], 'the start timeout is extended from the start on (3 x 5 s by default)');
  t.same((await manager.next()).lines, ['READY=1', 'STATUS=child 10 running, 0 restarts']);
  t.same((await manager.next()).lines, ['STATUS=child 11 running, 1 restart']);
});

t.test('statuses closer than statusIntervalMs are folded into the newest, sent once the interval has passed', async (t) => {
  const { manager, link } = linked(t, 100);
  const readyAt = Date.now();
  link.childRunning('a');
  link.status('b');
  link.status('c');
  t.same((await manager.next()).lines, ['READY=1', 'STATUS=a']);
  t.same((await manager.next()).lines, ['STATUS=c'], 'b was replaced by c before it went out');
  t.ok(Date.now() - readyAt >= 100 - 2, 'not before the interval');
  link.status('c');
  link.needMoreTime(1500);
  t.same((await manager.next()).lines, ['EXTEND_TIMEOUT_USEC=1500000'], 'the same status again is not resent');
});

/** The messages received from now until `ms` have passed. */
async function receivedFor(manager: FakeServiceManager, ms: number): Promise<string[][]> {
  const from = manager.received.length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  manager.drain();
  return manager.received.slice(from).map((m) => m.lines);
}

t.test('the start timeout is extended at once and every extendEveryMs until READY=1, then no more', async (t) => {
  const { manager, link } = linked(t, 0, 40);
  const startedAt = performance.now();
  link.start();
  manager.drain();
  t.same(manager.received.map((m) => m.lines), [['EXTEND_TIMEOUT_USEC=120000']], 'the first at once: three periods of 40 ms');
  const extensions: number[] = [];
  while (extensions.length < 4) {
    const m = await manager.next();
    t.same(m.lines, ['EXTEND_TIMEOUT_USEC=120000']);
    extensions.push(performance.now() - startedAt);
  }
  t.ok(extensions[3]! >= 3 * 40 - 5, `then one per period (the 4th after ${extensions[3]!.toFixed(0)} ms)`);
  link.childRunning('running');
  manager.drain();
  const after = await receivedFor(manager, 150);
  t.same(after.filter((lines) => lines[0] !== 'READY=1' && lines[0] !== 'EXTEND_TIMEOUT_USEC=120000'), [], 'nothing else');
  const readyAt = after.findIndex((lines) => lines[0] === 'READY=1');
  t.ok(after.slice(readyAt + 1).every((lines) => lines[0] !== 'EXTEND_TIMEOUT_USEC=120000'), 'no extension after READY=1');
});

t.test('whileWorking extends the timeout while its work runs (a final capture at a stop), and stops with it', async (t) => {
  const { manager, link } = linked(t, 0, 40);
  link.stopping('stopping on SIGTERM: final capture of the child\'s memory');
  let finish!: (value: string) => void;
  const working = link.whileWorking(() => new Promise<string>((resolve) => { finish = resolve; }));
  t.same((await manager.next()).lines, ['STOPPING=1', 'STATUS=stopping on SIGTERM: final capture of the child\'s memory']);
  for (let i = 0; i < 3; i++) t.same((await manager.next()).lines, ['EXTEND_TIMEOUT_USEC=120000'], `extension ${i + 1} while the work runs`);
  finish('durable');
  t.equal(await working, 'durable', 'the work\'s result');
  t.same(await receivedFor(manager, 150), [], 'nothing once the work is done');
  await t.rejects(link.whileWorking(async () => { throw new Error('disk full'); }), /disk full/, 'a failure is the work\'s');
  t.same(await receivedFor(manager, 150), [['EXTEND_TIMEOUT_USEC=120000']], 'one at its start, none after it failed');
});

t.test('a new file replaces the stored one', async (t) => {
  const { manager, link } = linked(t);
  const fd = memfdCreate('link-test');
  t.teardown(() => closeSync(fd));
  link.fileChanged(fd);
  t.same((await manager.next()).lines, ['FDSTOREREMOVE=1', 'FDNAME=SHM_SHARED_FD']);
  const stored = await manager.next();
  t.same(stored.lines, ['FDSTORE=1', 'FDNAME=SHM_SHARED_FD']);
  t.equal(fstatSync(stored.fds[0]!).ino, fstatSync(fd).ino);
});

t.test('stopping cancels a pending status and silences later ones', async (t) => {
  const { manager, link } = linked(t, 10_000);
  link.childRunning('running');
  link.status('pending');
  link.stopping('stopping: final capture');
  link.status('after');
  link.childRunning('after');
  link.needMoreTime(1);
  t.same((await manager.next()).lines, ['READY=1', 'STATUS=running']);
  t.same((await manager.next()).lines, ['STOPPING=1', 'STATUS=stopping: final capture']);
  t.same((await manager.next()).lines, ['EXTEND_TIMEOUT_USEC=1000'], 'nothing between STOPPING and this');
});

t.test('environment problems are logged at start, a broken socket once', async (t) => {
  const bad = recorder();
  new ServiceManagerLink({ logger: bad.logger, env: { NOTIFY_SOCKET: 'relative', WATCHDOG_USEC: '-1' } }).start();
  t.same(bad.events.map((e) => e.event), ['notify-environment', 'notify-environment']);
  const broken = recorder();
  const link = new ServiceManagerLink({ logger: broken.logger, env: { NOTIFY_SOCKET: '/nonexistent/shm-host/notify' }, statusIntervalMs: 0 });
  t.teardown(() => link.close());
  t.ok(link.enabled);
  link.childRunning('a');
  link.status('b');
  link.stopping('c');
  t.equal(broken.events.length, 1);
  t.match(broken.events[0], { level: 'warn', event: 'notify-failed', message: /could not tell the service manager READY=1 on \/nonexistent\/shm-host\/notify: .*ENOENT/ });
  const off = recorder();
  const none = new ServiceManagerLink({ logger: off.logger, env: {} });
  none.start();
  none.childRunning('x');
  none.fileChanged(0);
  none.stopping('y');
  t.notOk(none.enabled);
  t.same(off.events, [], 'without NOTIFY_SOCKET: silent no-ops');
});
