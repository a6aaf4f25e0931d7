// Nothing lost without a loud signal: a final capture the snapshot
// directory refuses ends the host with its own status (74) and a line
// saying what is lost; space is freed from generations a restore would not
// use; and status reports what the child reads from its header.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fetchStatus } from '../../src/host/control/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { fill, fixture, lastLogged, mountTmpfs, storedSequences, until, scratch } from './harness.js';

/** A small tmpfs of its own for one test, unmounted after its hosts stopped; null with the reason to skip. */
function smallDisk(t: { teardown(fn: () => unknown): void }, size: string): { mnt: string } | string {
  const mnt = mkdtempSync(`${tmpdir()}/shm-host-stop-`);
  const refused = mountTmpfs(mnt, size);
  t.teardown(() => {
    if (!refused) execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  return refused ?? { mnt };
}

const counter = (log: string): string[] => ['--', process.execPath, fixture('counter.js'), '--rate', '500', '--log', log];

for (const trouble of ['full', 'read-only'] as const) {
  t.test(`final capture refused (${trouble}): exit 74 and a line saying what is lost`, async (t) => {
    const disk = smallDisk(t, '4m');
    const work = scratch(t);
    if (typeof disk === 'string') return void t.skip(disk);
    const state = `${disk.mnt}/state`;
    const log = `${work.dir}/committed.log`;
    const host = work.start(['--dir', state, '--interval', '0', '--size', '256K', '--stop-timeout', '1s', ...counter(log)]);
    await host.stdout.waitFor(/resumed at 0/, 20_000);
    await until('some commits', () => (lastLogged(log) ?? 0) > 10);
    host.child.kill('SIGUSR1');
    await until('a first generation', async () => (await storedSequences(state)).length === 1);
    if (trouble === 'full') fill(`${disk.mnt}/filler`);
    else execFileSync('mount', ['-o', 'remount,ro', disk.mnt]);
    const before = lastLogged(log)!;
    await until('the child to commit past the generation', () => lastLogged(log)! > before + 20);
    host.child.kill('SIGTERM');
    const exit = await host.exited;
    t.equal(exit.code, 74, 'exit status 74: the last memory is not on disk');
    const lost = host.stderr.lines.find((l) => /final capture could not be stored/.test(l)) ?? host.stderr.lines.join('\n');
    t.match(lost, /the next start resumes from generation 1 \(records up to stream offset (\d+)\); the records from stream offset \1 to (\d+) \(\d+ bytes\) are lost/);
    t.ok(host.stderr.lines.filter((l) => /shutdown capture failed/.test(l)).length >= 2, 'the final capture was retried');
    t.same(await storedSequences(state), [1], 'generation 1 is left, as the line says');
  });
}

t.test('final capture on a full disk: generations a restore would not use are deleted to make room', async (t) => {
  const disk = smallDisk(t, '4m');
  const work = scratch(t);
  if (typeof disk === 'string') return void t.skip(disk);
  const state = `${disk.mnt}/state`;
  const log = `${work.dir}/committed.log`;
  // Full generations: each stands alone, so the two older ones are not needed by a restore of the newest
  // (with deltas they are its chain, and nothing can be deleted: the refused cases above cover that).
  const host = work.start(['--dir', state, '--interval', '0', '--size', '256K', '--keep', '3', '--max-chain', '0', '--stop-timeout', '1s', ...counter(log)]);
  await host.stdout.waitFor(/resumed at 0/, 20_000);
  await until('some commits', () => (lastLogged(log) ?? 0) > 10);
  for (const n of [1, 2, 3]) {
    host.child.kill('SIGUSR1');
    await until(`generation ${n}`, async () => (await storedSequences(state)).length === n);
  }
  fill(`${disk.mnt}/filler`);
  host.child.kill('SIGTERM');
  const exit = await host.exited;
  t.equal(exit.code, 0, 'the final capture was stored after space was freed; the child exited 0');
  t.match(host.stderr.lines.join('\n'), /shutdown capture failed: .*ENOSPC[^]*deleted generation\(s\) 2, 1 to make room[^]*captured generation (\d+) \(shutdown\)/);
  const kept = await storedSequences(state);
  t.equal(kept.length, 2, 'two generations are left');
  t.equal(Math.min(...kept), 3, 'the newest verified generation was kept, and the final capture stored beside it');
  // A clean stop of the counter: its last logged value is its latest commit.
  for (const f of readdirSync(disk.mnt)) if (f.startsWith('filler.')) rmSync(`${disk.mnt}/${f}`);
  // Read before the next child appends its own commits to the same log.
  const logged = lastLogged(log);
  const next = work.start(['--dir', state, '--interval', '0', '--size', '256K', ...counter(log)]);
  const resumed = Number((await next.stdout.waitFor(/resumed at (\d+)/, 20_000))[1]);
  t.equal(resumed, logged, 'the next start resumes at the last committed value');
});

t.test('status after a restore: durable_offset and snapshot_seq as the child reads them', async (t) => {
  const work = scratch(t);
  const state = `${work.dir}/state`;
  const log = `${work.dir}/committed.log`;
  const first = work.start(['--dir', state, '--interval', '0', '--size', '64K', ...counter(log)]);
  await first.stdout.waitFor(/resumed at 0/, 20_000);
  await until('some commits', () => (lastLogged(log) ?? 0) > 10);
  first.child.kill('SIGTERM');
  t.equal((await first.exited).code, 0);
  const store = await SnapshotStore.open(state, { readOnly: true });
  const generation = await store.get(1);
  await store.close();
  const latest = generation.manifest.latest!;
  const second = work.start(['--dir', state, '--interval', '0', '--size', '64K', ...counter(log)]);
  await second.stdout.waitFor(/resumed at [1-9]/, 20_000);
  const status = await fetchStatus(state, 5000);
  t.equal(status.durableOffset, (BigInt(latest.offset) + BigInt(latest.length)).toString(), 'durable_offset: the end of the restored latest record');
  t.equal(status.snapshotSeq, 1, 'snapshot_seq: the restored generation');
  t.match(first.stderr.lines.join('\n'), /captured generation 1 \(shutdown\): \d+ records, full, \S+ \S+ copied in \d+ ms/, 'the log says a full generation is one');
  second.child.kill('SIGTERM');
  t.equal((await second.exited).code, 0);
  t.match(second.stderr.lines.join('\n'), /captured generation 2 \(shutdown\): \d+ records, a delta of 1, \S+ \S+ written in \d+ ms/, 'and a delta of the restored one, with what it cost on disk');
});
