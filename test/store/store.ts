// The snapshot directory: opening (creation, refusals, the lock and its
// holder's pid), sweeping debris, listing, retention and read-only use.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotStore, StoreError, generationFileName, parseGenerationFileName } from '../../src/store/index.js';
import { capture } from '../../src/live/index.js';
import { tryLockExclusive, unlock } from '../../src/sys/index.js';
import { commitRecords, fixture, liveFile, scratchDir } from './helpers.js';

const rejectsWith = async (t: Test, p: Promise<unknown>, code: string, message: RegExp): Promise<void> => {
  const err = await p.then(() => null, (e: unknown) => e);
  t.ok(err instanceof StoreError, 'a StoreError');
  t.equal((err as StoreError).code, code);
  t.match((err as StoreError).message, message);
  t.notMatch((err as StoreError).message, /\n/, 'one line');
};

t.test('names: one format/parse pair, fixed width, sorting by sequence', async (t) => {
  t.equal(generationFileName(42, 'image'), 'gen-0000000000000042.img');
  t.equal(generationFileName(42, 'manifest'), 'gen-0000000000000042.json');
  t.same(parseGenerationFileName('gen-0000000000000042.img'), { sequence: 42, kind: 'image' });
  t.same(parseGenerationFileName(generationFileName(Number.MAX_SAFE_INTEGER, 'manifest')), { sequence: Number.MAX_SAFE_INTEGER, kind: 'manifest' });
  for (const name of ['gen-42.img', '.tmp-gen-0000000000000042.img', 'gen-0000000000000000.img', 'gen-0000000000000042.img.bak', 'lock']) {
    t.equal(parseGenerationFileName(name), null, name);
  }
  const names = [9, 10, 100, 2].map((s) => generationFileName(s, 'image')).sort();
  t.same(names.map((n) => parseGenerationFileName(n)!.sequence), [2, 9, 10, 100]);
  t.throws(() => generationFileName(0, 'image'), RangeError);
});

t.test('open creates the directory 0700 and writes files 0600', async (t) => {
  const dir = join(scratchDir(t), 'a', 'state');
  const store = await SnapshotStore.open(dir);
  t.teardown(() => store.close());
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, '..')).mode & 0o777, 0o700, 'missing parents are created private too');
  const { fd, state } = liveFile(t);
  commitRecords(state, 10);
  await capture(fd, store, 'request');
  for (const name of readdirSync(dir)) t.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
  t.equal(store.keep, 3, 'keeps 3 by default');
});

t.test('open refuses a path that is not a private directory of ours', async (t) => {
  const base = scratchDir(t);
  const file = join(base, 'file');
  writeFileSync(file, 'x');
  await rejectsWith(t, SnapshotStore.open(file), 'NOT_A_DIRECTORY', /^snapshot path .*file exists but is not a directory: /);
  await rejectsWith(t, SnapshotStore.open(join(file, 'below')), 'NOT_A_DIRECTORY', /not a directory/);
  const open = join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await rejectsWith(t, SnapshotStore.open(open), 'UNSAFE_DIRECTORY', /can be written by other users \(mode 0777\): run chmod 700 /);
  chmodSync(open, 0o770);
  await rejectsWith(t, SnapshotStore.open(open), 'UNSAFE_DIRECTORY', /mode 0770/);
  chmodSync(open, 0o755);
  const store = await SnapshotStore.open(open);
  await store.close();
  await rejectsWith(t, SnapshotStore.open(base, { keep: 1 }), 'BAD_OPTION', /keep .* at least 2/);
  await rejectsWith(t, SnapshotStore.open(join(base, 'missing'), { readOnly: true }), 'NOT_FOUND', /does not exist/);
});

t.test('a second opener fails with the holder\'s pid, in this process and in another', async (t) => {
  const dir = scratchDir(t);
  const store = await SnapshotStore.open(dir);
  const expected = `snapshot directory ${dir} is in use by another shm-host (pid ${process.pid}): stop it or use another snapshot directory`;
  const err = await SnapshotStore.open(dir).then(() => null, (e: unknown) => e);
  t.equal((err as StoreError).code, 'LOCKED');
  t.equal((err as StoreError).message, expected);

  const other = await runOpener(dir);
  t.equal(other.code, 1);
  t.equal(other.stderr, `${expected}\n`, 'exactly one line, no stack trace');

  await store.close();
  const again = await runOpener(dir);
  t.equal(again.stdout, 'opened\n', 'free once the holder closed it');
});

t.test('the lock dies with its holder, however it dies', async (t) => {
  const dir = scratchDir(t);
  const child = spawn(process.execPath, [fixture('store-open.js'), dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const opened = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  t.equal(opened, 'opened\n');
  const err = await SnapshotStore.open(dir).then(() => null, (e: unknown) => e);
  t.match((err as Error).message, `(pid ${child.pid})`);
  const ended = new Promise((resolve) => child.once('close', resolve));
  child.kill('SIGKILL');
  await ended;
  const store = await SnapshotStore.open(dir);
  await store.close();
  t.pass('reopened after SIGKILL');
});

t.test('open sweeps temporary files and images without a manifest, and numbers on', async (t) => {
  const dir = scratchDir(t);
  const { fd, state } = liveFile(t);
  let store = await SnapshotStore.open(dir);
  commitRecords(state, 5);
  await capture(fd, store, 'request');
  await capture(fd, store, 'request');
  await store.close();
  // Debris of writes interrupted at each step.
  writeFileSync(join(dir, '.tmp-gen-0000000000000003.img'), 'partial image');
  writeFileSync(join(dir, '.tmp-gen-0000000000000003.json'), '{"format":');
  writeFileSync(join(dir, generationFileName(4, 'image')), 'renamed image, manifest never committed');
  writeFileSync(join(dir, 'notes.txt'), 'not ours: left alone');
  const swept: string[] = [];
  store = await SnapshotStore.open(dir, { onSwept: (paths) => swept.push(...paths) });
  t.teardown(() => store.close());
  t.same(swept, [join(dir, generationFileName(4, 'image'))], 'the data file without a manifest is named to the caller; temporary files are not');
  t.same(readdirSync(dir).sort(), ['gen-0000000000000001.img', 'gen-0000000000000001.json', 'gen-0000000000000002.delta', 'gen-0000000000000002.json', 'lock', 'notes.txt'], 'the second capture is a delta of the first');
  const { generation } = await capture(fd, store, 'request');
  // Numbering follows the newest generation: the orphan was never a
  // generation (no manifest, so nobody saw it) and its name is free again;
  // a stray's number must not move numbering (test/store/strays.ts).
  t.equal(generation.sequence, 3, 'numbers on after the newest generation');
});

t.test('list, get and a read-only store beside the host', async (t) => {
  const dir = scratchDir(t);
  const { fd, state } = liveFile(t);
  const store = await SnapshotStore.open(dir, { keep: 5 });
  t.teardown(() => store.close());
  t.same(await store.list(), []);
  t.same(await store.newestVerified(), { generation: null, skipped: [] });
  commitRecords(state, 3);
  const first = await capture(fd, store, 'interval');
  commitRecords(state, 3);
  const second = await capture(fd, store, 'shutdown');
  const listed = await store.list();
  t.same(listed.map((g) => [g.sequence, g.ok]), [[2, true], [1, true]], 'newest first');
  const got = await store.get(1);
  t.same(got, first.generation);
  t.equal(got.manifest.reason, 'interval');
  t.equal(got.manifest.format, 2);
  t.equal(got.manifest.records, 3);
  await rejectsWith(t, store.get(7), 'NOT_FOUND', /there is no generation 7 in /);
  writeFileSync(join(dir, generationFileName(3, 'manifest')), 'garbage');
  const withBad = await store.list();
  t.same(withBad.map((g) => [g.sequence, g.ok]), [[3, false], [2, true], [1, true]]);
  t.match(withBad[0], { ok: false, reason: /not valid JSON/ });
  await rejectsWith(t, store.get(3), 'BAD_MANIFEST', /generation 3 cannot be read: the manifest is not valid JSON/);

  // Inspection beside the running host: no lock, no writes.
  const inspect = await SnapshotStore.open(dir, { readOnly: true });
  t.equal(inspect.readOnly, true);
  t.same((await inspect.newestVerified()).generation, second.generation);
  await rejectsWith(t, inspect.createImage(), 'READ_ONLY', /opened read-only/);
  await rejectsWith(t, inspect.prune(), 'READ_ONLY', /opened read-only/);
  await inspect.close();
  await rejectsWith(t, inspect.list(), 'CLOSED', /closed/);
});

t.test('retention keeps the newest N after each commit, never the only verified one', async (t) => {
  const dir = scratchDir(t);
  const { fd, state } = liveFile(t);
  // Full generations only (no chain): what the newest N means without dependencies.
  const store = await SnapshotStore.open(dir, { keep: 2, chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  for (let i = 0; i < 5; i++) {
    commitRecords(state, 2);
    await capture(fd, store, 'interval');
    t.ok((await store.list()).length <= 2, 'never more than keep after a commit');
  }
  t.same((await store.list()).map((g) => g.sequence), [5, 4]);
  t.same(await store.prune(), [], 'nothing past the newest 2');
  await rejectsWith(t, store.prune(1), 'BAD_OPTION', /at least 2/);

  // Four generations, the three newest damaged: generation 1 is the only
  // state left to restore, so pruning to 2 spares it.
  const dir2 = scratchDir(t);
  const wide = await SnapshotStore.open(dir2, { keep: 5, chain: { maxChain: 0 } });
  for (let i = 0; i < 4; i++) {
    commitRecords(state, 1);
    await capture(fd, wide, 'interval');
  }
  for (const s of [4, 3, 2]) writeFileSync(join(dir2, generationFileName(s, 'image')), 'corrupt');
  t.same(await wide.prune(2), [2], 'the damaged generation past the newest 2 goes');
  t.same((await wide.list()).map((g) => g.sequence), [4, 3, 1], 'the only verified one stays');
  t.equal((await wide.newestVerified()).generation?.sequence, 1);
  await wide.close();

  // A new good generation makes the old one expendable.
  const narrow = await SnapshotStore.open(dir2, { keep: 2 });
  commitRecords(state, 1);
  const { generation } = await capture(fd, narrow, 'interval');
  t.equal(generation.sequence, 5);
  t.same((await narrow.list()).map((g) => g.sequence), [5, 4]);
  await narrow.close();
});

function runOpener(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture('store-open.js'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('gone() and diskBytes(): what an inspector asks of a listed generation, through the store (issue 10: the CLI does no I/O of the directory)', async (t) => {
  const dir = scratchDir(t);
  const store = await SnapshotStore.open(dir);
  const { fd, state } = liveFile(t);
  commitRecords(state, 5);
  await capture(fd, store, 'request');
  await capture(fd, store, 'request');
  const [newer, older] = await store.list();
  t.ok(newer!.ok && older!.ok);
  t.equal(await store.diskBytes(newer!), statSync(newer!.imagePath).blocks * 512, 'allocated blocks, not the size');
  t.equal(await store.gone(older!), false);
  const reader = await SnapshotStore.open(dir, { readOnly: true });
  t.teardown(() => reader.close());
  await store.close();
  t.equal(await reader.gone(older!), false);
  unlinkSync(older!.manifestPath); // as a running host's retention deletes it, manifest first
  t.equal(await reader.gone(older!), true, 'its manifest deleted since the listing');
  t.equal(await reader.gone({ manifestPath: join(dir, 'gen-0000000000000099.manifest.json') }), true, 'a manifest that is not there');
  t.equal(await reader.diskBytes({ imagePath: join(dir, 'gen-0000000000000099.img') }), null, 'a missing data file');
});

t.test('a damaged sequence floor stops a writable open with one line, instead of numbering from 0 under the replica', async (t) => {
  const dir = scratchDir(t);
  const first = await SnapshotStore.open(dir, { firstSequence: 1 });
  await first.close();
  writeFileSync(join(dir, 'sequence-floor'), '41\n', { mode: 0o600 });
  const floored = await SnapshotStore.open(dir);
  await floored.close();
  for (const bad of ['garbage\n', '', '12']) {
    writeFileSync(join(dir, 'sequence-floor'), bad, { mode: 0o600 });
    const err = await SnapshotStore.open(dir).then((s) => s.close().then(() => null), (e: unknown) => e);
    t.ok(err instanceof StoreError && err.code === 'BAD_MANIFEST', `${JSON.stringify(bad)}: refused`);
    t.match((err as Error).message, /sequence-floor does not hold a generation sequence \(damaged\)/, `${JSON.stringify(bad)}: the message says which file`);
  }
  unlinkSync(join(dir, 'sequence-floor'));
  const none = await SnapshotStore.open(dir);
  await none.close();
  t.pass('no floor file: opens');
});

t.test('a writer is not refused because someone probes the lock for a moment (DirectoryLock.heldBy), nor told "pid unknown" while the holder writes its pid', async (t) => {
  const dir = scratchDir(t);
  await (await SnapshotStore.open(dir)).close();
  // A probe: the lock taken by a descriptor that writes no pid, let go a moment later.
  const probe = openSync(join(dir, 'lock'), 'r');
  t.teardown(() => closeSync(probe));
  t.ok(tryLockExclusive(probe), 'the probe holds the lock');
  const opening = SnapshotStore.open(dir);
  setTimeout(() => unlock(probe), 20);
  const store = await opening;
  t.pass('the open waited out the probe instead of failing as LOCKED');
  await store.close();
});
