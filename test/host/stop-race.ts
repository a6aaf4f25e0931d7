// A stop of the whole service that reaches the child before the host (what
// systemd's default KillMode=control-group does on `systemctl stop`): the
// child dies of SIGTERM, the host's own SIGTERM follows a moment later, and
// the host must stop instead of restarting the child. A child killed by a
// stop signal waits STOP_SIGNAL_GRACE_MS (250 ms) before its restart, so
// the host's signal, sent here as soon as the host logged the death, wins.
import t from 'tap';
import { fixture, scratch } from './harness.js';

for (const [what, child, status] of [
  ['dies of SIGTERM (--restart always)', ['-e', 'console.log("up"); setInterval(() => {}, 1e6)'], 143],
  ['handles SIGTERM and exits 0 (--restart always)', [fixture('records.js'), '--rate', '200'], 0],
] as const) {
t.test(`a child that ${what}, then the host within the grace: stopped, not restarted`, async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--size', '1M', '--interval', '0', '--restart', 'always', '--restart-delay', '10ms', '--restart-max-delay', '10ms',
    '--log-format', 'json', '--', process.execPath, ...child]);
  await host.stdout.waitFor(/^(up|records: resumed at)/, 20_000);
  const started = JSON.parse((await host.stderr.waitFor(/"event":"started"/, 20_000)).input!);
  process.kill(started.pid, 'SIGTERM');
  const restart = JSON.parse((await host.stderr.waitFor(/"event":"restart"/, 20_000)).input!);
  t.equal(restart.delayMs, 250, 'the grace, not the 10 ms delay');
  process.kill(host.pid, 'SIGTERM');
  t.match(await host.exited, { code: status }, 'the host stops with the child\'s status');
  t.equal(host.stderr.lines.filter((l) => l.includes('"event":"started"')).length, 1, 'no second child');
  t.ok(host.stderr.lines.some((l) => /"event":"stopped".*while waiting to restart/.test(l)), 'stopped while waiting to restart');
});
}

t.test('child SIGKILLed: no grace, the policy\'s delay', async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--size', '1M', '--interval', '0', '--restart-delay', '10ms', '--restart-max-delay', '10ms',
    '--log-format', 'json', '--', process.execPath, fixture('records.js'), '--rate', '200']);
  const started = JSON.parse((await host.stderr.waitFor(/"event":"started"/, 20_000)).input!);
  process.kill(started.pid, 'SIGKILL');
  const restart = JSON.parse((await host.stderr.waitFor(/"event":"restart"/, 20_000)).input!);
  t.equal(restart.delayMs, 10);
  await host.stderr.waitFor(/"event":"restart-timeline"/, 20_000);
});
