// The file descriptor store round-trip the host relies on, under a real
// systemd 252 user manager: a Type=notify service stores a marked memfd with
// our notify client, is SIGKILLed, and its restarted main process gets the
// very file back through LISTEN_FDS/LISTEN_FDNAMES.
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, until } from '../host/harness.js';
import { uniqueUnit, userManagerFor } from './harness.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/fdstore-service.js', import.meta.url));

interface Start {
  start: 'first' | 'restored';
  pid: number;
  read?: string;
  store?: unknown;
  storeOld?: unknown;
  ready: unknown;
  LISTEN_PID: string | null;
  LISTEN_FDS: string | null;
  LISTEN_FDNAMES: string | null;
  NOTIFY_SOCKET: string | null;
  failure?: unknown;
  WATCHDOG_USEC: string | null;
  WATCHDOG_PID: string | null;
  watchdogMs: number | null;
}

const starts = (report: string): Start[] =>
  existsSync(report) ? readFileSync(report, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Start) : [];

const manager = await userManagerFor(t);
if (manager !== null) {
  /** Starts the fixture as a transient Type=notify service; resolves once it sent READY=1 (systemd-run waits for it). */
  const service = async (t: Test, mode: string, marker: string, extra: string[] = []): Promise<{ unit: string; report: string }> => {
    const unit = uniqueUnit(mode);
    const report = join(manager.runtimeDir, `${unit}.jsonl`);
    await manager.startService(t, unit, [`WorkingDirectory=${ROOT}`, ...extra], [process.execPath, '--import', 'tsx', FIXTURE, report, marker, mode]);
    // systemd-run returns at READY=1, which the service sends before it writes its report line.
    await until('the service to report its start', () => starts(report).length > 0, 20_000);
    return { unit, report };
  };

  const killMain = async (unit: string): Promise<number> => {
    const pid = Number(await manager.show(unit, 'MainPID'));
    process.kill(pid, 'SIGKILL');
    return pid;
  };

  t.test('a stored memfd comes back to the restarted main process, marker and all', async (t) => {
    const marker = `marker-${process.pid}-${Date.now()}`;
    const { unit, report } = await service(t, 'store', marker);
    const [first] = starts(report);
    t.match(first, { start: 'first', store: { sent: true }, ready: { sent: true }, LISTEN_FDS: null });
    t.match(first!.NOTIFY_SOCKET, /^\//, 'a user manager gives a path socket');
    t.equal(await manager.show(unit, 'NFileDescriptorStore'), '1', 'systemd holds the file (accepted before READY=1, while activating)');
    t.equal(await manager.show(unit, 'StatusText'), 'stored');
    t.equal(await manager.show(unit, 'NotifyAccess'), 'main', 'Type=notify implies NotifyAccess=main');
    t.equal(await manager.show(unit, 'MainPID'), String(first!.pid));

    const killed = await killMain(unit);
    const restored = await until('the restarted service to report', () => starts(report)[1], 20_000);
    t.not(restored.pid, killed, 'a new main process');
    t.match(restored, { start: 'restored', read: marker, LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD', LISTEN_PID: String(restored.pid) },
      'fd 3 is the stored memfd, named SHM_SHARED_FD, for this very process');
    await until('READY=1 of the restarted service', async () => (await manager.show(unit, 'StatusText')) === `restored ${marker}`, 10_000);
    t.equal(await manager.show(unit, 'NRestarts'), '1');
    t.equal(await manager.show(unit, 'NFileDescriptorStore'), '1', 'the store still holds the file it handed over');

    await manager.systemctl('restart', unit);
    const third = await until('the service restarted by systemctl restart', () => starts(report)[2], 20_000);
    t.match(third, { start: 'restored', read: marker }, 'systemctl restart keeps the store too (systemd 252)');
  });

  t.test('replacing: FDSTOREREMOVE then FDSTORE leaves exactly the new file', async (t) => {
    const marker = `replaced-${process.pid}-${Date.now()}`;
    const { unit, report } = await service(t, 'replace', marker);
    t.match(starts(report)[0], { start: 'first', storeOld: { sent: true }, store: { sent: true } });
    t.equal(await manager.show(unit, 'NFileDescriptorStore'), '1');
    await killMain(unit);
    const restored = await until('the restarted service to report', () => starts(report)[1], 20_000);
    t.match(restored, { start: 'restored', read: marker, LISTEN_FDS: '1' }, 'the new file, not the replaced one');
  });

  t.test('systemd 252 drops the descriptor of a datagram holding both FDSTOREREMOVE=1 and FDSTORE=1', async (t) => {
    // Pins the behaviour that makes the notifier send the removal on its own.
    const { unit, report } = await service(t, 'combined', 'unused');
    t.match(starts(report)[0], { start: 'first', store: true });
    t.equal(await manager.show(unit, 'NFileDescriptorStore'), '0', 'nothing stored');
    await killMain(unit);
    const again = await until('the restarted service to report', () => starts(report)[1], 20_000);
    t.match(again, { start: 'first', LISTEN_FDS: null }, 'the next main process gets no file');
  });

  t.test('WatchdogSec=: the notifier feeds the watchdog every half period; a starved one is restarted', async (t) => {
    const { unit, report } = await service(t, 'store', 'watchdog', ['WatchdogSec=1']);
    const [first] = starts(report);
    t.match(first, { WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(first!.pid), watchdogMs: 500 }, 'systemd 252 sets WATCHDOG_PID to the main process');
    // Each WATCHDOG=1 moves the unit's watchdog timestamp; two moves span more than one WatchdogSec since the start.
    const stamps = new Set<string>();
    await until('two watchdog keep-alives', async () => {
      stamps.add(await manager.show(unit, 'WatchdogTimestampMonotonic'));
      return stamps.size >= 3;
    }, 15_000);
    t.equal(await manager.show(unit, 'NRestarts'), '0', 'never killed by the watchdog');
    t.equal(await manager.show(unit, 'ActiveState'), 'active');

    const starved = await service(t, 'starve', 'watchdog', ['WatchdogSec=1']);
    t.equal(starts(starved.report)[0]!.watchdogMs, null);
    await until('the starved service to be restarted by the watchdog', async () => Number(await manager.show(starved.unit, 'NRestarts')) >= 1, 15_000);
    t.pass('a service that does not feed the watchdog is killed and restarted: the check above can fail');
  });

  t.test('with FileDescriptorStoreMax=1 a second file is refused and the first one stays', async (t) => {
    const marker = `first-${process.pid}-${Date.now()}`;
    const { unit, report } = await service(t, 'overflow', marker);
    t.match(starts(report)[0], { store: { sent: true }, storeOld: { sent: true } }, 'both sends leave the host');
    t.equal(await manager.show(unit, 'NFileDescriptorStore'), '1');
    await killMain(unit);
    const restored = await until('the restarted service to report', () => starts(report)[1], 20_000);
    t.match(restored, { start: 'restored', read: marker }, 'the store kept the older file: hence FDSTOREREMOVE first');
  });

  t.test('NotifyAccess=main ignores a message from a child that inherited NOTIFY_SOCKET', async (t) => {
    const main = await service(t, 'child-status', 'unused', ['NotifyAccess=main']);
    t.match(starts(main.report)[0], { child: 'sent', ready: { sent: true } });
    // The child's datagram was queued before READY=1, which systemd-run waited for.
    t.equal(await manager.show(main.unit, 'StatusText'), '', 'the child spoke and was ignored');
    const all = await service(t, 'child-status', 'unused', ['NotifyAccess=all']);
    t.equal(await manager.show(all.unit, 'StatusText'), 'from-child', 'under NotifyAccess=all it would speak for the unit');
  });
}
