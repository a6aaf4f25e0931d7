// A snapshot directory that turns read-only or fills up: the capture fails
// with one clear line, leaves no debris, and every existing generation
// stays intact. Real mounts: a read-only bind mount and a tiny tmpfs.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotStore } from '../../src/store/index.js';
import { dataRuns } from '../../src/sys/index.js';
import { CaptureError, capture } from '../../src/live/index.js';
import { commitRecords, liveFile, scratchDir } from './helpers.js';

/** Runs mount(8); returns why not when the machine refuses. */
function mount(args: string[]): string | null {
  try {
    execFileSync('mount', args, { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `mount ${args.join(' ')} is refused here (${(err as Error).message.split('\n')[0]})`;
  }
}

function umountOnTeardown(t: Test, path: string): void {
  t.teardown(() => {
    try {
      execFileSync('umount', [path], { stdio: 'pipe' });
    } catch {
      // already unmounted by the test
    }
  });
}

/** Every generation's files, to compare before and after. */
function snapshotFiles(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(dir).filter((n) => n.startsWith('gen-')).sort()) files.set(name, readFileSync(join(dir, name)));
  return files;
}

async function expectIntact(t: Test, store: SnapshotStore, dir: string, before: Map<string, Buffer>): Promise<void> {
  const after = snapshotFiles(dir);
  t.same([...after.keys()], [...before.keys()], 'the same generation files');
  t.ok([...before].every(([name, bytes]) => after.get(name)?.equals(bytes)), 'byte for byte');
  for (const g of await store.list()) {
    t.ok(g.ok && (await store.verify(g)).ok, `generation ${g.sequence} verifies`);
  }
  t.notOk(readdirSync(dir).some((n) => n.startsWith('.tmp-')), 'no temporary file left');
}

t.test('a directory that became read-only', async (t) => {
  const dir = join(scratchDir(t, 'rofs'), 'state');
  const store = await SnapshotStore.open(dir, { chain: { maxChain: 0 } }); // the full write sequence, step by step
  t.teardown(() => store.close());
  const { fd, state } = liveFile(t);
  commitRecords(state, 10);
  await capture(fd, store, 'interval');
  commitRecords(state, 10);
  await capture(fd, store, 'interval');
  const before = snapshotFiles(dir);

  const refused = mount(['--bind', dir, dir]) ?? mount(['-o', 'remount,bind,ro', dir]);
  umountOnTeardown(t, dir);
  if (refused) {
    t.comment(`skipped: ${refused}`);
    return;
  }
  commitRecords(state, 10);
  const err = await capture(fd, store, 'interval').then(() => null, (e: unknown) => e);
  t.ok(err instanceof CaptureError);
  t.equal((err as CaptureError).kind, 'io');
  t.equal((err as Error).message, `cannot create snapshot image ${dir}/.tmp-gen-0000000000000003.img: the file system is read-only (EROFS): remount it read-write or use another snapshot directory`);
  t.match((err as CaptureError).cause, { code: 'READ_ONLY_FS' });
  await expectIntact(t, store, dir, before);

  execFileSync('umount', [dir]);
  const result = await capture(fd, store, 'interval');
  t.equal(result.generation.sequence, 4, 'captures resume once the directory is writable');
});

t.test('a full disk', async (t) => {
  const mnt = join(scratchDir(t, 'full'), 'mnt');
  mkdirSync(mnt);
  const refused = mount(['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mnt]);
  umountOnTeardown(t, mnt);
  if (refused) {
    t.comment(`skipped: ${refused}`);
    return;
  }
  const dir = join(mnt, 'state');
  const store = await SnapshotStore.open(dir, { chain: { maxChain: 0 } }); // the full write sequence, step by step
  t.teardown(() => store.close());
  const small = liveFile(t, 64 * 1024, 16, 16 * 1024);
  commitRecords(small.state, 30);
  await capture(small.fd, store, 'interval');
  const before = snapshotFiles(dir);
  const free = statfsSync(mnt).bfree;

  // A file that grew past the free space: its image cannot be written.
  const big = liveFile(t, 2 << 20, 16, 16 * 1024);
  commitRecords(big.state, 30);
  big.state.tail.fill(0xab);
  const err = await capture(big.fd, store, 'interval').then(() => null, (e: unknown) => e);
  t.ok(err instanceof CaptureError);
  t.equal((err as CaptureError).kind, 'io');
  t.match((err as Error).message, new RegExp(`^cannot write snapshot image ${dir}/\\.tmp-gen-0000000000000002\\.img: no space left on the device \\(ENOSPC\\): free some space or use another snapshot directory$`));
  await expectIntact(t, store, dir, before);
  t.equal(statfsSync(mnt).bfree, free, 'all the space the attempt took is given back');

  // Room for the image but not for its manifest: the commit point is never
  // reached, and the image renamed already is removed again.
  small.state.tail.fill(0xcd);
  // The image takes as many pages as the live file holds data (holes stay holes).
  const imagePages = dataRuns(small.fd, 0, 64 * 1024).reduce((n, [a, b]) => n + (b - a), 0) / 4096;
  writeFileSync(join(mnt, 'filler'), Buffer.alloc((statfsSync(mnt).bfree - imagePages) * 4096, 1));
  t.equal(statfsSync(mnt).bfree, imagePages, `room for the image's ${imagePages} pages, not one more`);
  const manifestErr = await capture(small.fd, store, 'interval').then(() => null, (e: unknown) => e);
  t.equal((manifestErr as CaptureError).kind, 'io');
  t.match((manifestErr as Error).message, /^cannot write snapshot manifest .*\.tmp-gen-0000000000000003\.json: no space left on the device \(ENOSPC\)/);
  await expectIntact(t, store, dir, before);

  execFileSync('rm', [join(mnt, 'filler')]);
  const result = await capture(small.fd, store, 'interval');
  t.equal(result.generation.sequence, 4, 'captures resume once there is room');
  t.same(await store.verify(result.generation), { ok: true });
});
