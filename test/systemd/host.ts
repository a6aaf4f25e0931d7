// shm-host itself as a Type=notify service of a real systemd 252 user
// manager, with its memory file in the file descriptor store: a host
// SIGKILLed mid-run, or restarted by `systemctl restart`, comes back on the
// very memory its child had, so the child resumes at the last record it
// committed, with nothing durable on disk (--interval 1h). A corrupted stored
// file is refused. And KillMode: what `systemctl stop` does to the child.
import t, { type Test } from 'tap';
import { existsSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, fixture, storedSequences, until, untilDead } from '../host/harness.js';
import { uniqueUnit, userManagerFor } from './harness.js';

interface LogEvent {
  time: string;
  event: string;
  message: string;
  pid?: number;
  signal?: string | null;
}

const manager = await userManagerFor(t);
if (manager !== null) {
  /** shm-host as a transient Type=notify service running the records fixture; resolves after READY=1 (systemd-run waits for it). */
  const hostService = async (t: Test, name: string, killMode: string) => {
    const unit = uniqueUnit(name);
    const dir = t.testdir({});
    const hostLog = join(dir, 'host.log');
    const childOut = join(dir, 'child.out');
    const records = join(dir, 'records.log');
    await manager.startService(t, unit, [`KillMode=${killMode}`, 'TimeoutStopSec=20s', `StandardOutput=append:${childOut}`, `StandardError=append:${hostLog}`], [
      process.execPath, BIN, '--dir', join(dir, 'state'), '--size', '1M', '--interval', '1h', '--log-format', 'json',
      '--', process.execPath, fixture('records.js'), '--rate', '300', '--log', records]);
    const events = (): LogEvent[] => existsSync(hostLog) ? readFileSync(hostLog, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogEvent) : [];
    const resumes = (): number[] => existsSync(childOut) ? [...readFileSync(childOut, 'utf8').matchAll(/records: resumed at (\d+)/g)].map((m) => Number(m[1])) : [];
    const logged = (): number[] => existsSync(records) ? readFileSync(records, 'utf8').split('\n').filter(Boolean).map(Number) : [];
    const childPid = (): number => events().filter((e) => e.event === 'started').at(-1)!.pid!;
    return { unit, dir, state: join(dir, 'state'), events, resumes, logged, childPid };
  };

  /** The child commits a while; returns the last index it logged before `kill` took it. */
  const commitsThenDies = async (svc: Awaited<ReturnType<typeof hostService>>, kill: () => Promise<void>): Promise<number> => {
    const before = svc.logged().length;
    await until('the child to commit 100 records', () => svc.logged().length >= before + 100, 20_000);
    const child = svc.childPid();
    await kill();
    await untilDead(child, 20_000);
    return svc.logged().at(-1)!;
  };

  t.test('host SIGKILLed, then systemctl restart: the child resumes at its last committed record each time', async (t) => {
    const svc = await hostService(t, 'host-kill', 'mixed');
    t.equal(await manager.show(svc.unit, 'NFileDescriptorStore'), '1', 'the live file is in the store');
    t.match(await manager.show(svc.unit, 'StatusText'), /^child \d+ running, 0 restarts, no capture yet$/);

    const hostPid = Number(await manager.show(svc.unit, 'MainPID'));
    const last = await commitsThenDies(svc, async () => void process.kill(hostPid, 'SIGKILL'));
    t.same(await storedSequences(svc.state), [], 'nothing durable: the interval is an hour');
    await until('the restarted child to resume', () => svc.resumes().length >= 2, 20_000);
    const resumed = svc.resumes()[1]!;
    t.ok(resumed >= last && resumed <= last + 1, `resumed at ${resumed}: the last logged record was ${last} (a kill may land between a commit and its log line)`);
    const handed = svc.events().find((e) => e.event === 'handed-over');
    t.match(handed?.message, /nothing committed was lost/, 'the host says it took the stored memory');
    t.equal(await manager.show(svc.unit, 'NRestarts'), '1');
    t.not(Number(await manager.show(svc.unit, 'MainPID')), hostPid);
    await until('the new file in the store', async () => (await manager.show(svc.unit, 'NFileDescriptorStore')) === '1', 10_000);

    const last2 = await commitsThenDies(svc, async () => {
      const r = await manager.systemctl('restart', '--no-block', svc.unit);
      t.equal(r.exitCode, 0, r.stderr);
    });
    await until('the child to resume after systemctl restart', () => svc.resumes().length >= 3, 30_000);
    const resumed2 = svc.resumes()[2]!;
    t.ok(resumed2 >= last2 && resumed2 <= last2 + 1, `systemctl restart: resumed at ${resumed2}, last logged ${last2}`);
    t.equal(svc.events().filter((e) => e.event === 'handed-over').length, 2);
    const all = svc.logged();
    const backwards = all.findIndex((v, i) => i > 0 && v <= all[i - 1]!);
    t.equal(backwards, -1, `the ${all.length} committed indexes never go back: no record lost or committed twice`);
  });

  t.test('a corrupted stored file is refused and the newest verified generation restored', async (t) => {
    const svc = await hostService(t, 'host-corrupt', 'mixed');
    // A durable generation first (SIGUSR1: a capture now).
    await until('the child to commit', () => svc.logged().length >= 50, 20_000);
    const hostPid = Number(await manager.show(svc.unit, 'MainPID'));
    process.kill(hostPid, 'SIGUSR1');
    await until('a generation', async () => (await storedSequences(svc.state)).length === 1, 20_000);
    // Wreck the live file's header through the child's fd 3: the same memfd the store holds.
    const fd = openSync(`/proc/${svc.childPid()}/fd/3`, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xee), 0, 4096, 0);
    closeSync(fd);
    process.kill(hostPid, 'SIGKILL');
    await until('the restarted child', () => svc.resumes().length >= 2, 20_000);
    const refused = svc.events().find((e) => e.event === 'handover-refused');
    t.match(refused?.message, /^refused the shared file kept by the service manager: .*; restoring the newest verified generation instead$/);
    t.ok(svc.events().some((e) => e.event === 'restored'), 'restored from the snapshot directory');
    t.ok(svc.resumes()[1]! > 0, `the child resumed at ${svc.resumes()[1]} from generation 1`);
    t.equal(await manager.show(svc.unit, 'ActiveState'), 'active');
  });

  t.test('systemctl stop under KillMode=control-group: the child is not restarted', async (t) => {
    const svc = await hostService(t, 'killmode', 'control-group');
    await until('the child to commit', () => svc.logged().length >= 20, 20_000);
    const r = await manager.systemctl('stop', svc.unit);
    t.equal(r.exitCode, 0, r.stderr);
    const events = svc.events();
    t.equal(events.filter((e) => e.event === 'started').length, 1, 'one child only: no restart while systemd stops the unit');
    const exit = events.find((e) => e.event === 'exit')!;
    const stopping = events.find((e) => e.event === 'stopping')!;
    t.ok(exit && stopping, 'the child exit and the host\'s stop are both logged');
    const gap = Date.parse(stopping.time) - Date.parse(exit.time);
    t.comment(`host's SIGTERM seen ${gap} ms after the child's exit (negative: before)`);
    t.ok(gap < 250, `the host's own stop signal came within the 250 ms grace (${gap} ms)`);
    const state = `${await manager.show(svc.unit, 'ActiveState')} (Result=${await manager.show(svc.unit, 'Result')}, ExecMainStatus=${await manager.show(svc.unit, 'ExecMainStatus')})`;
    t.comment(`after systemctl stop: ${state}`);
    t.match(state, /^(inactive|failed) /);
  });
}
