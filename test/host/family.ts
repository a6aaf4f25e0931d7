// The child's process group dies with it; a writer that escaped the group
// keeps the old shared file and cannot reach the restarted child's memory.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { readLayout } from '../../src/format/index.js';
import { isAlive } from '../../src/sys/index.js';
import { fixture, killQuietly, until, untilDead, scratch } from './harness.js';

/** The counter a host-fd3-writer keeps in the first 8 bytes of the tail of the file at `path`. */
function tailCounter(path: string): bigint {
  const bytes = new Uint8Array(readFileSync(path));
  const { layout } = readLayout(bytes);
  return new DataView(bytes.buffer).getBigUint64(layout.tailBase, true);
}

t.test('grandchildren: the group dies with the child, an escaped writer cannot touch the new memory', async (t) => {
  const work = scratch(t);
  const dir = work.dir;
  const host = work.start(['--dir', `${dir}/state`, '--interval', '0', '--size', '256K', '--restart-delay', '10ms', '--', process.execPath, fixture('host-family.js')]);
  let escaped: number | undefined;
  t.teardown(() => killQuietly(escaped));
  const first = JSON.parse((await host.stdout.waitFor(/^\{.*"escaped".*$/, 20_000))[0]);
  escaped = first.escaped;
  t.equal(first.resumed, false, 'the first child starts fresh');
  // Both grandchildren are writing into the first child's file.
  const firstFile = `/proc/${first.escaped}/fd/3`;
  const c0 = tailCounter(firstFile);
  await until('the grandchildren to write', () => tailCounter(firstFile) > c0 + 2n);

  process.kill(first.pid, 'SIGKILL');
  const second = JSON.parse((await host.stdout.waitFor(/^\{.*"resumed":true.*$/, 20_000))[0]);
  t.not(second.pid, first.pid, 'a new child runs');
  await untilDead(first.inGroup);
  t.pass('the grandchild in the group was killed with it');
  t.ok(isAlive(first.escaped), 'the escaped grandchild still runs (it left the group)');

  const secondFile = `/proc/${second.pid}/fd/3`;
  t.not(statSync(firstFile).ino, statSync(secondFile).ino, 'the restarted child has a new shared file');
  const strayBefore = tailCounter(firstFile);
  const mineBefore = tailCounter(secondFile);
  await until('the stray writer to keep writing its old file', () => tailCounter(firstFile) > strayBefore + 5n);
  t.equal(tailCounter(secondFile), mineBefore, 'nothing the stray writer did reached the new memory');
});

t.test('a stop signal reaches the whole group, which gets --stop-timeout to finish', async (t) => {
  const work = scratch(t);
  const marker = `${work.dir}/shutdown-ran`;
  // The shell dies at once on SIGTERM; the program it runs takes 500 ms to shut down.
  const app = `process.on('SIGTERM', () => setTimeout(() => { require('fs').writeFileSync(${JSON.stringify(marker)}, 'done'); process.exit(0); }, 500)); console.log('app ready'); setInterval(() => {}, 1000);`;
  const host = work.start(['--dir', `${work.dir}/state`, '--interval', '0', '--size', '64K', '--stop-timeout', '10s',
    '--', 'sh', '-c', `${process.execPath} -e "${app.replace(/"/g, '\\"')}"; echo done`]);
  await host.stdout.waitFor(/^app ready$/, 20_000);
  host.child.kill('SIGTERM');
  const exit = await host.exited;
  t.equal(exit.code, 128 + 15, 'the shell was ended by SIGTERM');
  t.equal(existsSync(marker) ? readFileSync(marker, 'utf8') : 'missing', 'done', 'the program ran its shutdown handler before the host ended');
  t.notMatch(host.stderr.lines.join('\n'), /forced/, 'nothing had to be SIGKILLed');
});

t.test('orphans reparented to the host are reaped: zombies stay bounded', async (t) => {
  const work = scratch(t);
  const loop = 'while :; do (sleep 0.05 &); (setsid sleep 0.05 &); sleep 0.05; done';
  const host = work.start(['--dir', `${work.dir}/state`, '--interval', '0', '--size', '64K', '--', 'sh', '-c', loop]);
  await host.stderr.waitFor(/started child \d+/, 20_000);
  const zombies = (): number => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' && Number(fields[1]) === host.pid;
    } catch {
      return false;
    }
  }).length;
  const seen: number[] = [];
  const end = performance.now() + 4000;
  while (performance.now() < end) {
    seen.push(zombies());
    await new Promise((r) => setTimeout(r, 200));
  }
  t.ok(seen.length >= 10, `${seen.length} samples`);
  t.ok(Math.max(...seen) <= 4, `zombies under the host over 4 s: ${seen.join(' ')}`);
});

t.test('a writer that left the group ends with the host: killed at the host\'s end', async (t) => {
  const work = scratch(t);
  const host = work.start(['--dir', `${work.dir}/state`, '--interval', '0', '--size', '256K', '--', process.execPath, fixture('host-family.js')]);
  const first = JSON.parse((await host.stdout.waitFor(/^\{.*"escaped".*$/, 20_000))[0]);
  t.teardown(() => killQuietly(first.escaped));
  t.ok(isAlive(first.escaped), 'the escaped grandchild runs');
  host.child.kill('SIGTERM');
  await host.exited;
  t.notOk(isAlive(first.escaped), 'the escaped grandchild is dead once the host has exited');
  t.match(host.stderr.lines.join('\n'), new RegExp(`killed ${first.escaped} \\(node\\): they still held the shared memory as the host ends`));
});
