// The child's process group dies with it; a writer that escaped the group
// keeps the old shared file and cannot reach the restarted child's memory.
import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
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
