// How the host ends: exit statuses, forwarded signals, the restart policy.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { fixture, scratch } from './harness.js';

const node = process.execPath;
const idleChild = [node, '-e', 'setInterval(() => {}, 1000)'];
const manifests = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.json'));

t.test('--restart never: the host ends with the child exit code after a post-mortem capture', async (t) => {
  const work = scratch(t);
  const dir = `${work.dir}/state`;
  const host = work.start(['--dir', dir, '--restart', 'never', '--interval', '0', '--size', '64K', '--', node, fixture('host-stubborn.js'), 'exit', '3']);
  const exit = await host.exited;
  t.equal(exit.code, 3);
  await host.stderr.waitFor(/exited with code 3/, 1000);
  await host.stderr.waitFor(/not restarting \(--restart never\)$/, 1000); // the CLI names its flag (the library: restart.mode)
  t.equal(manifests(dir).length, 1, 'the dead child was captured');
});

t.test('SIGTERM is forwarded; a child that ignores it is SIGKILLed after --stop-timeout; 128+9', async (t) => {
  const work = scratch(t);
  const dir = `${work.dir}/state`;
  const host = work.start(['--dir', dir, '--stop-timeout', '300ms', '--interval', '0', '--size', '64K', '--', node, fixture('host-stubborn.js')]);
  await host.stdout.waitFor(/^stubborn: ready/, 20_000);
  host.child.kill('SIGTERM');
  await host.stdout.waitFor(/ignoring SIGTERM/, 5000);
  const exit = await host.exited;
  t.equal(exit.code, 128 + 9);
  await host.stderr.waitFor(/\(forced after --stop-timeout\)/, 1000);
  await host.stderr.waitFor(/captured generation \d+ \(shutdown\)/, 1000);
});

t.test('SIGINT to the host ends a child that obeys it with 128+2, after a final capture', async (t) => {
  const work = scratch(t);
  const dir = `${work.dir}/state`;
  const host = work.start(['--dir', dir, '--interval', '0', '--size', '64K', '--', ...idleChild]);
  await host.stderr.waitFor(/started child \d+/, 20_000);
  host.child.kill('SIGINT');
  const exit = await host.exited;
  t.equal(exit.code, 128 + 2);
  await host.stderr.waitFor(/captured generation \d+ \(shutdown\)/, 1000);
  t.equal(manifests(dir).length, 1, 'an unconfigured file is still captured raw at shutdown');
});

t.test('a child that exits 0 under on-failure ends the host with 0', async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--interval', '0', '--size', '64K', '--', node, fixture('host-stubborn.js'), 'exit', '0']);
  t.equal((await host.exited).code, 0);
  await host.stderr.waitFor(/not restarting \(--restart on-failure\)$/, 1000);
});

t.test('--max-restarts: the host gives up with a clear message', async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--interval', '0', '--size', '64K', '--max-restarts', '2', '--restart-delay', '1ms',
    '--', node, '-e', 'process.exit(5)']);
  const exit = await host.exited;
  t.equal(exit.code, 5, 'the host ends with the last child status');
  const starts = host.stderr.lines.filter((l) => /started child/.test(l));
  t.equal(starts.length, 3, 'the first start and two restarts');
  await host.stderr.waitFor(/giving up: the child was restarted 2 times within 60s \(fix the child, or raise --max-restarts \/ shorten --restart-window\)$/, 1000);
});

t.test('--restart-delay 50ms --restart-max-delay 400ms: a child that exits at once is restarted after 50, 100, 200, 400, 400 ms', async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--log-format', 'json', '--interval', '0', '--size', '64K', '--max-restarts', '5',
    '--restart-delay', '50ms', '--restart-max-delay', '400ms', '--', node, '-e', 'process.exit(5)']);
  t.equal((await host.exited).code, 5);
  const events = host.stderr.lines.map((l) => JSON.parse(l) as { event: string; time: string; delayMs?: number; restart?: number });
  const restarts = events.filter((e) => e.event === 'restart');
  t.same(restarts.map((e) => e.delayMs), [50, 100, 200, 400, 400], 'doubling from --restart-delay, then held at --restart-max-delay');
  t.same(restarts.map((e) => e.restart), [1, 2, 3, 4, 5]);
  // Each restart waited its delay: from the restart line to the next child's start (log times are whole ms).
  const starts = events.filter((e) => e.event === 'started').map((e) => Date.parse(e.time));
  t.equal(starts.length, 6, 'the first start and five restarts');
  restarts.forEach((e, i) => {
    const waited = starts[i + 1]! - Date.parse(e.time);
    t.ok(waited >= e.delayMs! - 1, `restart ${i + 1} started ${waited} ms after its line (delay ${e.delayMs} ms)`);
  });
});

t.test('--restart always restarts a child that exited 0', async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--interval', '0', '--size', '64K', '--restart', 'always', '--max-restarts', '1', '--restart-delay', '1ms',
    '--', node, '-e', 'process.exit(0)']);
  const exit = await host.exited;
  t.equal(host.stderr.lines.filter((l) => /started child/.test(l)).length, 2);
  t.equal(exit.code, 1, 'giving up is a failure even when the child exited 0');
});

t.test('a command that does not exist: 127, one line, no restart loop', async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--', 'no-such-command-here']);
  const exit = await host.exited;
  t.equal(exit.code, 127);
  t.equal(host.stderr.lines.length, 1, host.stderr.lines.join('\n'));
  t.match(host.stderr.lines[0], /^shm-host: .*no-such-command-here.*not found/);
});

t.test('bad options: one line each, exit 2, nothing started', async (t) => {
  const work = scratch(t);
  const cases: Array<[string[], RegExp]> = [
    [['--size', '10X', '--', 'true'], /--size 10X/],
    [['--keep', '1', '--', 'true'], /--keep 1/],
    [['--interval', 'soon', '--', 'true'], /--interval soon/],
    [['--restart-delay', '1y', '--', 'true'], /--restart-delay 1y: not a duration/],
    [['--restart', 'sometimes', '--', 'true'], /--restart sometimes/],
    [['--dir', 'x'], /no command to run/],
  ];
  for (const [args, message] of cases) {
    const host = work.start(['--dir', `${work.dir}/state`, ...args]);
    const exit = await host.exited;
    t.equal(exit.code, 2, args.join(' '));
    t.equal(host.stderr.lines.length, 1, host.stderr.lines.join('\n'));
    t.match(host.stderr.lines[0], message);
  }
});

t.test('--log-format json: every line parses', async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--log-format', 'json', '--interval', '0', '--size', '64K', '--restart-delay', '1ms', '--stop-timeout', '100ms',
    '--', node, fixture('host-stubborn.js')]);
  const first = Number((await host.stdout.waitFor(/^stubborn: ready (\d+)/, 20_000))[1]);
  process.kill(first, 'SIGKILL');
  await host.stdout.waitFor(new RegExp(`^stubborn: ready (?!${first}$)`), 20_000, 1);
  host.child.kill('SIGTERM');
  await host.exited;
  t.ok(host.stderr.lines.length >= 5, 'there were events to log');
  for (const line of host.stderr.lines) {
    const event = JSON.parse(line);
    t.type(event.event, 'string');
    t.type(event.time, 'string');
  }
});
