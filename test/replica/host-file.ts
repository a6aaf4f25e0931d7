// `shm-host run --replica file:///...`: the host's side of replication, fast,
// on a directory replica (the S3 gateway's turn is in host-s3.ts).
import t from 'tap';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { BIN, fixture, nthMatch, scratch, storedSequences } from '../host/harness.js';
import { machineLost } from './helpers.js';

const fileUrl = (path: string): string => pathToFileURL(path).href;

t.test('the machine is lost: a new host in a new directory resumes from the replica', async (t) => {
  const work = scratch(t);
  await machineLost(t, work, ['--replica', fileUrl(join(work.dir, 'replica'))]);
});

t.test('a second host on the same replica is refused in one line, exit 1', async (t) => {
  const work = scratch(t);
  const replica = ['--replica', fileUrl(join(work.dir, 'replica'))];
  const child = [process.execPath, fixture('replica-counter.js'), join(work.dir, 'log'), '50'];
  const first = work.start(['--dir', join(work.dir, 'a'), '--size', '64K', ...replica, '--', ...child]);
  await first.stdout.waitFor(/resumed at/, 20_000);
  await nthMatch(first.stderr, /replicated generation/, 1).catch(() => {});
  const second = work.start(['--dir', join(work.dir, 'b'), '--size', '64K', ...replica, '--', ...child]);
  const exit = await second.exited;
  t.equal(exit.code, 1, 'exit status 1');
  const lines = second.stderr.lines.filter((l) => !/^shm-host: replica .* holds no generation/.test(l));
  t.equal(lines.length, 1, `one line: ${lines.join(' | ')}`);
  t.match(lines[0], /is written by host .*\(stop that host, use another replica prefix, or take its lease over: --replica-takeover\)$/, 'it names the holder and the fix, with its flag');
  t.equal(second.stdout.lines.length, 0, 'no child started');

  const third = work.start(['--dir', join(work.dir, 'c'), '--size', '64K', ...replica, '--replica-takeover', '--', ...child]);
  await third.stdout.waitFor(/resumed at \d+/, 20_000);
  t.pass('--replica-takeover starts a host on the prefix');
});

t.test('a non-empty directory is not restored over; a replica option without --replica is a usage error', async (t) => {
  const work = scratch(t);
  const replicaDir = join(work.dir, 'replica');
  const stray = work.start(['--dir', join(work.dir, 'x'), '--replica-keep', '3', '--', 'true']);
  t.equal((await stray.exited).code, 2, '--replica-keep alone: exit 2');
  t.match(stray.stderr.lines.join('\n'), /--replica-keep without --replica/, 'names the option');
  const bad = work.start(['--dir', join(work.dir, 'x'), '--replica', 'http://example.com/x', '--', 'true']);
  t.equal((await bad.exited).code, 2, 'an http URL: exit 2');

  const log = join(work.dir, 'log');
  const first = work.start(['--dir', join(work.dir, 'a'), '--size', '64K', '--replica', fileUrl(replicaDir), '--', process.execPath, fixture('replica-counter.js'), log, '200']);
  await first.stdout.waitFor(/resumed at 0/, 20_000);
  await nthMatch(first.stderr, /replicated generation/, 1);
  first.child.kill('SIGTERM');
  await first.exited;
  const other = join(work.dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'note.txt'), 'not a snapshot');
  const second = work.start(['--dir', other, '--size', '64K', '--replica', fileUrl(replicaDir), '--', process.execPath, fixture('replica-counter.js'), log, '200']);
  await second.stdout.waitFor(/resumed at 0/, 20_000);
  t.notOk(second.stderr.lines.some((l) => /from replica/.test(l)), 'a directory with files in it is not restored from the replica');
});

t.test('status shows the replica; list --replica and restore --from read it', async (t) => {
  const work = scratch(t);
  const url = fileUrl(join(work.dir, 'replica'));
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  const dir = join(work.dir, 'a');
  const host = work.start(['--dir', dir, '--size', '64K', '--interval', '100ms', '--replica', url, '--', process.execPath, fixture('replica-counter.js'), join(work.dir, 'log'), '200']);
  await host.stdout.waitFor(/resumed at 0/, 20_000);
  await nthMatch(host.stderr, /replicated generation/, 1);
  const status = JSON.parse(cli('status', '--dir', dir, '--json').stdout) as { replica: { url: string; lastReplicated: { sequence: number; offset: string } | null; lastError: unknown; lagGenerations: number; lagBytes: number } };
  t.equal(status.replica.url, url, 'status --json names the replica');
  t.ok((status.replica.lastReplicated?.sequence ?? 0) >= 1, `last replicated generation ${status.replica.lastReplicated?.sequence}, offset ${status.replica.lastReplicated?.offset}`);
  t.equal(status.replica.lastError, null, 'no error');
  t.type(status.replica.lagGenerations, 'number');
  t.match(cli('status', '--dir', dir).stdout, /replicated:\s+generation \d+, offset \d+/, 'status text shows the last replicated generation');
  host.child.kill('SIGTERM');
  await host.exited;

  const listed = cli('list', '--replica', url, '--json');
  t.equal(listed.status, 0, `list --replica exits 0 ${listed.stderr}`);
  const rows = (JSON.parse(listed.stdout) as { generations: Array<{ sequence: number; ok: boolean; offset: string }> }).generations;
  t.ok(rows.length >= 1 && rows.every((r) => r.ok), `${rows.length} generations listed, all complete`);
  t.equal(rows[0]!.sequence, Math.max(...(await storedSequences(dir))), 'the shutdown capture reached the replica before the host exited');
  t.match(cli('list', '--replica', url).stdout, /SEQ\s+CREATED\s+PARENT\s+OFFSET/, 'a text table');

  const target = join(work.dir, 'restored');
  const restored = cli('restore', '--from', url, '--dir', target);
  t.equal(restored.status, 0, `restore exits 0 ${restored.stderr}`);
  t.match(restored.stdout, new RegExp(`restored generation ${rows[0]!.sequence} `), 'the newest generation');
  const local = JSON.parse(cli('list', '--dir', target, '--json', '--verify').stdout) as { generations: Array<{ sequence: number; state: string }> };
  // A delta comes with the chain it depends on.
  t.equal(local.generations[0]?.sequence, rows[0]!.sequence, 'the local directory holds it as its newest generation');
  t.ok(local.generations.every((g) => g.state === 'ok'), `every local generation verifies: ${JSON.stringify(local.generations)}`);
  const again = cli('restore', '--from', url, '--dir', target);
  t.equal(again.status, 1, 'a non-empty directory: exit 1');
  t.equal(again.stderr.trim().split('\n').length, 1, `one line: ${again.stderr.trim()}`);
  t.match(again.stderr, /is not empty/);
  const older = cli('restore', '--from', url, '--dir', join(work.dir, 'older'), '--sequence', String(rows.at(-1)!.sequence));
  t.equal(older.status, 0, `--sequence ${rows.at(-1)!.sequence} restores that one ${older.stderr}`);
});

t.test('supervise() checks its replica option', async (t) => {
  const { validateSupervisorOptions, createLogger } = await import('../../src/host/index.js');
  const base = {
    dir: '/tmp/x', size: 65536, intervalMs: 1000, keep: 3, stopTimeoutMs: 1000, command: 'true', args: [], logger: createLogger({ format: 'text', quiet: true }),
    restart: { mode: 'never' as const, maxRestarts: 0, windowMs: 1000, initialDelayMs: 0, maxDelayMs: 0, stableAfterMs: 0 },
  };
  t.doesNotThrow(() => validateSupervisorOptions({ ...base, replica: { url: 's3://b/p', keep: 2, keepForMs: 0, takeover: false } }));
  t.throws(() => validateSupervisorOptions({ ...base, replica: { url: 'http://b/p' } }), TypeError, 'an http URL');
  t.throws(() => validateSupervisorOptions({ ...base, replica: { url: 'file:///r', keep: 0 } }), RangeError, 'keep 0');
  t.throws(() => validateSupervisorOptions({ ...base, replica: { url: 'file:///r', keepForMs: -1 } }), RangeError, 'a negative age');
  t.throws(() => validateSupervisorOptions({ ...base, replica: { url: 'file:///r', takeover: 'yes' as unknown as boolean } }), TypeError, 'takeover not a boolean');
});
