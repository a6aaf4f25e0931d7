// What a restarted child is given: the dead child's memory carried over at
// once, told afterwards which of it the post-mortem capture made durable;
// and, when the dead child broke its file or a stray still writes it, what
// the store holds instead.
import t from 'tap';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { WRITE_OFFSET_AT } from '../../src/format/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { fixture, killQuietly, nthMatch, scratch, storedSequences, until } from './harness.js';

const vandal = fixture('host-vandal.js');

/** The write_offset word in the header of the shared file at `path`. */
function writeOffsetOf(path: string): bigint {
  const fd = openSync(path, 'r');
  try {
    const word = Buffer.alloc(8);
    readSync(fd, word, 0, 8, WRITE_OFFSET_AT);
    return word.readBigUInt64LE();
  } finally {
    closeSync(fd);
  }
}
const jsonLines = (lines: string[]): Array<Record<string, unknown>> =>
  lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('a killed child resumes from its carried-over memory, then learns the post-mortem generation is durable', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  // No interval captures: only the post-mortem capture can make anything durable.
  const host = work.start(['--dir', state, '--interval', '0', '--size', '256K', '--restart-delay', '0ms', '--', process.execPath, vandal, '--commits', '3']);
  const first = JSON.parse((await host.stdout.waitFor(/^\{"resumed":0,.*$/, 20_000))[0]);
  const committed = JSON.parse((await host.stdout.waitFor(/^\{"committed":3,.*$/, 5000))[0]);
  process.kill(first.pid, 'SIGKILL');

  const secondLine = (await host.stdout.waitFor(/^\{"resumed":3,.*$/, 20_000))[0];
  t.not(JSON.parse(secondLine).pid, first.pid, 'a new child resumed at the last committed value');
  const carried = await host.stderr.waitFor(/carried the child's memory over .*\(3 records, latest record at offset (\d+)\)/, 1000);
  const sequence = Number((await host.stderr.waitFor(/captured generation (\d+) \(post-mortem\)/, 20_000))[1]);
  // Polled by the restarted child: its header now names the post-mortem generation.
  const told = new RegExp(`^\\{"durable":"${committed.end}","seq":"${sequence}"\\}$`);
  await host.stdout.waitFor(told, 10_000, host.stdout.lines.indexOf(secondLine) + 1);
  t.pass(`the restarted child was told that generation ${sequence} holds everything up to ${committed.end}`);
  t.equal(BigInt(carried[1]!) + 8n, BigInt(committed.end), 'the carried-over latest record ends where the dead child stopped');

  const store = await SnapshotStore.open(state, { readOnly: true });
  t.teardown(() => store.close());
  const generation = await store.get(sequence);
  t.equal(generation.manifest.records, 3, 'the post-mortem generation holds the three records');
  t.equal((await store.verify(generation)).ok, true, 'and verifies');
});

t.test('a child that breaks its header and dies: its successor gets the last good generation', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const marker = `${work.dir}/vandalized`;
  const host = work.start(['--dir', state, '--interval', '50ms', '--size', '256K', '--restart-delay', '0ms',
    '--', process.execPath, vandal, '--commits', '5', '--vandalize', marker]);
  await host.stdout.waitFor(/^\{"resumed":0,.*$/, 20_000);
  await host.stderr.waitFor(/exited with code 1/, 20_000);
  await host.stderr.waitFor(/child wrote an invalid layout: not a shm-host file.*capturing it before restarting/, 5000);
  await host.stderr.waitFor(/post-mortem capture failed: child wrote an invalid layout/, 5000);
  const restored = Number((await host.stderr.waitFor(/restored generation (\d+)/, 5000))[1]);
  const second = JSON.parse((await host.stdout.waitFor(/^\{"resumed":\d+,.*$/, 20_000, 1))[0]);
  t.equal(second.resumed, 5, `the restarted child resumed at the value generation ${restored} holds`);
  t.notOk(host.stderr.lines.some((l) => /carried the child's memory over/.test(l)), 'the broken memory was not carried over');
  t.equal(jsonLines(host.stdout.lines).filter((l) => 'resumed' in l).length, 2, 'one restart, no loop');
});

t.test('a child that breaks its header and dies when no generation restores: the host stops, as at its start, and deletes nothing', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const marker = `${work.dir}/vandalized`;
  const host = work.start(['--dir', state, '--interval', '50ms', '--size', '256K', '--restart-delay', '0ms',
    '--', process.execPath, vandal, '--commits', '5', '--vandalize', marker, '--wreck', state]);
  await host.stderr.waitFor(/post-mortem capture failed: child wrote an invalid layout/, 20_000);
  const exit = await host.exited;
  t.equal(exit.code, 1, host.stderr.lines.join('\n'));
  t.match(host.stderr.lines.at(-1), new RegExp(`^shm-host: no generation in ${state} can be restored \\(\\d+ found, none of which verifies\\) \\(the host does not start empty over them`));
  const after = host.stderr.lines.slice(host.stderr.lines.findIndex((l) => /post-mortem capture failed/.test(l)));
  t.notOk(after.some((l) => /restore-failed|carrying the child's memory over|starting with an empty/.test(l)), 'neither the broken memory nor an empty file was given to a child');
  t.equal(jsonLines(host.stdout.lines).filter((l) => 'resumed' in l).length, 1, 'no second child');
  t.ok((await storedSequences(state)).length > 0, 'the generations are still there');
});

t.test('a file a stray process still commits into: never trusted beyond what was proven', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const host = work.start(['--dir', state, '--interval', '50ms', '--size', '64M', '--restart-delay', '0ms',
    '--', process.execPath, fixture('host-escaped-committer.js'), `${work.dir}/started`]);
  const first = JSON.parse((await host.stdout.waitFor(/^\{"pid":\d+,"escaped":\d+\}$/, 20_000))[0]);
  t.teardown(() => killQuietly(first.escaped));
  await until('the escaped writer to commit', () => writeOffsetOf(`/proc/${first.escaped}/fd/3`) > 0n);
  process.kill(first.pid, 'SIGKILL');

  // The writer commits nonstop, so it normally commits while the 48 MiB of
  // data are copied, and the copy proves nothing. If a loaded machine
  // pauses it for the whole copy, the copy is proven, and the background
  // capture, which sees the later commits, must say that it differs.
  const seen = await host.stderr.waitFor(/warn: (?:(.*); capturing it before restarting|generation (\d+) may not hold what the new file was given.*)$/, 20_000);
  const second = JSON.parse((await host.stdout.waitFor(/^\{"pid":\d+,"escaped":null\}$/, 20_000))[0]);
  t.not(second.pid, first.pid, 'a new child runs');
  if (seen[1] !== undefined) {
    t.match(seen[1], /a process outside the child's group still writes it|child wrote an invalid layout/, `refused: ${seen[1]}`);
    t.notOk(host.stderr.lines.some((l) => /carried the child's memory over/.test(l)), 'nothing was carried over as proven');
    t.ok(host.stderr.lines.some((l) => /restored generation \d+|starting with an empty/.test(l)), 'the new file came from the store');
  } else {
    const diverged = Number(seen[2]);
    t.comment(`the writer was paused for the whole copy; generation ${diverged} diverged`);
    // The restarted child never commits: only the host's reaction stores a newer generation.
    await until('the new file to be captured', async () => Math.max(0, ...(await storedSequences(state))) > diverged);
    t.pass('the new file was captured after the diverged generation');
  }
});

/** The inodes of the memory files process `pid` has mapped, and the longest mapping of each (bytes). */
function memfdMappings(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    if (!line.includes('/memfd:')) continue;
    const [range, , , , inode] = line.split(/\s+/);
    const [a, b] = range!.split('-').map((x) => parseInt(x, 16));
    out.set(inode!, Math.max(out.get(inode!) ?? 0, b! - a!));
  }
  return out;
}

t.test('the host keeps a mapping of its current file between captures, and of no file it switched away from', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const host = work.start(['--dir', state, '--interval', '0', '--size', '1M', '--restart-delay', '0ms', '--', process.execPath, vandal, '--commits', '3']);
  let child = JSON.parse((await host.stdout.waitFor(/^\{"resumed":0,.*$/, 20_000))[0]);
  for (let kill = 1; kill <= 2; kill++) {
    await nthMatch(host.stdout, /^\{"committed":\d+,.*$/, kill);
    process.kill(child.pid, 'SIGKILL');
    child = JSON.parse((await host.stdout.waitFor(new RegExp(`^\\{"resumed":${3 * kill},.*$`), 20_000))[0]);
    await nthMatch(host.stderr, /captured generation \d+ \(post-mortem\)/, kill);
  }
  host.child.kill('SIGUSR1');
  await host.stderr.waitFor(/captured generation \d+ \(request\)/, 20_000);
  const current = String(statSync(`/proc/${child.pid}/fd/3`).ino);
  // The old files are closed after their post-mortem captures, and their mappings with them.
  const mapped = await until('only the current file mapped', () => {
    const m = memfdMappings(host.pid);
    return m.size === 1 && m.has(current) ? m : false;
  });
  t.equal(mapped.get(current), 1 << 20, 'the whole current file stays mapped after its capture');
});
