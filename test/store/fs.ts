// The store's file-system operations all pass through the StoreFs it was
// opened with: a recording one sees the durable write sequence in order,
// and every directory the store creates made durable by its parent's fsync.
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { SnapshotStore, realStoreFs, type Generation, type StoreFs } from '../../src/store/index.js';
import { CHECKSUM_ALGORITHM, ChunkDigests } from '../../src/format/index.js';
import { capture } from '../../src/live/index.js';
import { liveFile, recording, scratchDir } from './helpers.js';

t.test('a commit through a recording StoreFs: image fsync then rename, and manifest write then fsync, both before the manifest rename, then the directory fsync', async (t) => {
  const base = scratchDir(t, 'storefs');
  const dir = join(base, 'a', 'b');
  const { sfs, log } = recording();
  const store = await SnapshotStore.open(dir, { fs: sfs });
  t.teardown(() => store.close());
  t.ok(log.indexOf(`mkdir ${join(base, 'a')}`) < log.indexOf(`fsync ${base}`), 'the first new directory is made durable in its parent');
  t.ok(log.indexOf(`mkdir ${dir}`) < log.indexOf(`fsync ${join(base, 'a')}`), 'and so is the second');
  log.length = 0;
  const pending = await store.createImage();
  const size = 8192;
  fs.writeSync(pending.fd, new Uint8Array(size), 0, size, 0);
  const digests = new ChunkDigests(size);
  digests.set(0, null);
  const generation = await pending.commit({
    reason: 'request', checksum: { algorithm: CHECKSUM_ALGORITHM, value: digests.value() }, configured: false, records: 0, latest: null, writeOffset: '0',
  });
  const tmpImage = join(dir, '.tmp-gen-0000000000000001.img');
  const tmpManifest = join(dir, '.tmp-gen-0000000000000001.json');
  // Two sequences that may interleave (the data file's, the manifest's), each in order,
  // both before the commit point, and the directory fsync after it.
  const imageSteps = [`open ${tmpImage}`, `fsync ${tmpImage}`, `rename ${tmpImage} ${generation.imagePath}`];
  const manifestSteps = [`open ${tmpManifest}`, `write ${tmpManifest}`, `fsync ${tmpManifest}`];
  const commitSteps = [`rename ${tmpManifest} ${generation.manifestPath}`, `fsync ${dir}`];
  const at = (ops: string[]): number[] => ops.map((op) => log.indexOf(op));
  for (const steps of [imageSteps, manifestSteps, commitSteps]) {
    t.same(at(steps).map((i) => i >= 0), steps.map(() => true), `every step was seen: ${log.join('; ')}`);
    t.same([...at(steps)].sort((a, b) => a - b), at(steps), `in this order: ${steps.join(', ')}`);
  }
  t.ok(Math.max(...at(imageSteps), ...at(manifestSteps)) < log.indexOf(commitSteps[0]!), 'the data file is in place and the manifest durable before the commit point');
  t.ok((await store.verify(generation)).ok, 'and the generation verifies');
});

t.test('an open fsyncs the directory and each one above it on its file system, after the sweep, even when it created none', async (t) => {
  const base = scratchDir(t, 'storefs');
  const dir = join(base, 'a', 'b');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(join(dir, '.tmp-gen-0000000000000001.img'), 'debris');
  const { sfs, log } = recording();
  const store = await SnapshotStore.open(dir, { fs: sfs });
  t.teardown(() => store.close());
  const synced = log.filter((l) => l.startsWith('fsync ')).map((l) => l.slice('fsync '.length));
  // The fsyncs run at once, so they may finish (and be logged) in any order:
  // what counts is the set, every directory from `dir` up to its mount point.
  const device = fs.statSync(dir).dev;
  const expected: string[] = [];
  for (let d = dir; fs.statSync(d).dev === device; d = dirname(d)) {
    expected.push(d);
    if (dirname(d) === d) break;
  }
  t.same([...synced].sort(), [...expected].sort(), 'the directory and each one above it up to its mount point, each once');
  t.ok(expected.includes(base) && expected.includes(join(base, 'a')), 'which includes the parents this test made');
  t.ok(log.indexOf(`unlink ${join(dir, '.tmp-gen-0000000000000001.img')}`) < Math.min(...synced.map((d) => log.indexOf(`fsync ${d}`))), 'all after the sweep');
});

t.test('an open whose directory fsync fails says so in one StoreError, and leaves the lock free', async (t) => {
  const dir = join(scratchDir(t, 'storefs'), 'state');
  const dirs = new Set<number>();
  const sfs: StoreFs = {
    ...realStoreFs,
    open: async (path, flags, mode) => {
      const fd = await realStoreFs.open(path, flags, mode);
      if ((flags & fs.constants.O_DIRECTORY) !== 0) dirs.add(fd);
      return fd;
    },
    fsync: async (fd) => {
      if (dirs.has(fd)) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      return realStoreFs.fsync(fd);
    },
  };
  fs.mkdirSync(dir, { mode: 0o700 });
  await t.rejects(SnapshotStore.open(dir, { fs: sfs }), { name: 'StoreError', message: /cannot sync snapshot directory/ });
  const store = await SnapshotStore.open(dir);
  t.ok(store, 'the lock was released: a second open takes it');
  await store.close();
});

/**
 * A store on `sfs` with deltas on, a full capture of an 8 MiB live file,
 * then 2 MiB of changed 4 KiB blocks (every other block of the tail's
 * second half): `beforeDelta` runs, and the second capture's generation is returned.
 */
async function deltaThrough(t: Test, sfs: StoreFs, name: string, beforeDelta = (): void => {}): Promise<{ store: SnapshotStore; generation: Generation }> {
  const store = await SnapshotStore.open(join(scratchDir(t, 'storefs'), name), { fs: sfs, chain: { maxChain: 4 } });
  t.teardown(() => store.close());
  const size = 8 << 20;
  const { fd } = liveFile(t, size, 64, 64 * 1024);
  await capture(fd, store, 'request');
  const page = new Uint8Array(4096).fill(7);
  for (let at = size / 2; at < size; at += 8192) fs.writeSync(fd, page, 0, page.length, at);
  beforeDelta();
  const { generation } = await capture(fd, store, 'request');
  t.equal(generation.manifest.kind, 'delta', `${name}: a delta`);
  return { store, generation };
}

/** Checks the writeback requests for `temp` in `log`: one in flight at a time, contiguous from `first`, each for bytes already written, all returned before its fsync. */
function checkWriteback(t: Test, log: string[], temp: string, first: number): void {
  const range = (l: string): [number, number] => {
    const [offset, length] = l.split(' ').at(-1)!.split('+').map(Number) as [number, number];
    return [offset, offset + length];
  };
  const events = log.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('writeback') && l.includes(` ${temp} `));
  const requests = events.filter(([l]) => !l.startsWith('writeback returned')).map(([l, i]) => ({ range: range(l), at: i }));
  t.ok(requests.length >= 2, `requests while the file is written (${requests.length})`);
  t.same(events.map(([l]) => (l.startsWith('writeback returned') ? 'returned' : 'asked')), requests.flatMap(() => ['asked', 'returned']), 'one in flight at a time');
  let next = first;
  for (const { range: [from, to], at } of requests) {
    t.equal(from, next, `${from}-${to}: follows the one before`);
    next = to;
    const writtenBefore = log.slice(0, at).filter((l) => l.startsWith(`wrote ${temp} `)).map(range);
    t.ok(writtenBefore.some(([, end]) => end === to), `${from}-${to}: written before it was asked for`);
  }
  const fsyncAt = log.indexOf(`fsync ${temp}`);
  t.ok(fsyncAt >= 0, 'the file was fsynced');
  t.ok(events.every(([, i]) => i < fsyncAt), 'every request had returned before the fsync');
}

t.test('a delta hands what it has written to the disk as it goes: one writeback request at a time, each for bytes already written, all returned before the fsync', async (t) => {
  const { sfs, log } = recording({ completions: true });
  const { store, generation } = await deltaThrough(t, sfs, 'state', () => (log.length = 0));
  const temp = log.find((l) => l.startsWith('open ') && l.endsWith('.delta'))?.slice('open '.length);
  t.ok(temp, `the delta file was opened: ${log.join('; ')}`);
  checkWriteback(t, log, temp!, 4096); // the header page is written last
  t.ok((await store.verify(generation)).ok, 'and the delta verifies');
});

t.test('a full image hands what it has written to the disk as it goes, the same way', async (t) => {
  const { sfs, log } = recording({ completions: true });
  const store = await SnapshotStore.open(join(scratchDir(t, 'storefs'), 'full'), { fs: sfs, chain: { maxChain: 0 } });
  t.teardown(() => store.close());
  const { fd } = liveFile(t, 16 << 20, 64, 64 * 1024);
  const page = new Uint8Array(4096).fill(9);
  for (let at = 1 << 20; at < 16 << 20; at += 4096) fs.writeSync(fd, page, 0, page.length, at);
  const { generation } = await capture(fd, store, 'request');
  t.equal(generation.manifest.kind, 'full', 'a full image');
  const temp = log.find((l) => l.startsWith('open ') && l.endsWith('.img'))?.slice('open '.length);
  t.ok(temp, `the image was opened: ${log.join('; ')}`);
  checkWriteback(t, log, temp!, 0);
  t.ok((await store.verify(generation)).ok, 'and the image verifies');
});

t.test('a writeback request that fails or throws costs the delta nothing: it is committed and verifies', async (t) => {
  for (const failure of ['reject', 'throw'] as const) {
    let asked = 0;
    const sfs: StoreFs = {
      ...realStoreFs,
      startWriteback: (() => {
        asked += 1;
        if (failure === 'throw') throw Object.assign(new Error('EBADF: bad file descriptor'), { code: 'EBADF' });
        return Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
      }) as StoreFs['startWriteback'],
    };
    const { store, generation } = await deltaThrough(t, sfs, failure);
    t.ok(asked > 0, `${failure}: writeback was asked for (${asked} times)`);
    t.ok((await store.verify(generation)).ok, `${failure}: and it verifies`);
  }
});
