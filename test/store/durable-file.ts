// DurableFile, the store's write-temp, fsync, rename, fsync-dir, as a
// restore from a replica uses it: blocks written out of order at their
// places, a size that leaves a hole at the end, and the directory's fsync
// left to the caller; and the restore marker's durable create and removal.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DurableFile, RESTORE_MARKER, SnapshotStore, TEMP_PREFIX, clearRestoreMarker, markRestoreInProgress } from '../../src/store/index.js';
import { recording, scratchDir } from './helpers.js';

t.test('writeAt puts each block at its place; commit sizes the file, fsyncs and renames it, and leaves the directory to the caller', async (t) => {
  const dir = scratchDir(t);
  const path = join(dir, 'gen-0000000000000001.img');
  const { sfs, log } = recording();
  const file = await DurableFile.create(path, true, sfs, TEMP_PREFIX);
  await file.writeAt(new Uint8Array(4096).fill(2), 8192);
  await file.writeAt(new Uint8Array(4096).fill(1), 0);
  t.notOk(existsSync(path), 'nothing under the final name before the commit');
  await file.commit({ size: 4 * 4096, syncDirectory: false });
  const bytes = readFileSync(path);
  t.equal(bytes.length, 4 * 4096, 'the size given, past the last byte written');
  t.ok(bytes.subarray(0, 4096).every((b) => b === 1) && bytes.subarray(8192, 12288).every((b) => b === 2), 'each block at its place');
  t.ok(bytes.subarray(4096, 8192).every((b) => b === 0) && bytes.subarray(12288).every((b) => b === 0), 'the rest reads as zeros');
  const temp = log[0]!.slice('open '.length);
  t.ok(temp.startsWith(join(dir, TEMP_PREFIX)), `written under the store's temporary prefix: ${temp}`);
  t.same(log.filter((l) => !l.startsWith('write ')), [`open ${temp}`, `ftruncate ${temp}`, `fsync ${temp}`, `rename ${temp} ${path}`], 'sized, then fsynced (the size durable too), then renamed, and no fsync of the directory');
  t.same(readdirSync(dir), ['gen-0000000000000001.img'], 'no temporary file left');
});

t.test('commit() with no options fsyncs the directory after the rename; abort() leaves nothing', async (t) => {
  const dir = scratchDir(t);
  const { sfs, log } = recording();
  const file = await DurableFile.create(join(dir, 'a'), false, sfs);
  await file.writeAt(Buffer.from('hello'), 0);
  await file.commit();
  t.equal(readFileSync(join(dir, 'a'), 'utf8'), 'hello', 'sized to the end of the last byte written');
  t.match(log.at(-1), new RegExp(`^fsync ${dir}$`), 'the directory fsynced last');
  const aborted = await DurableFile.create(join(dir, 'b'), false, sfs);
  await aborted.writeAt(Buffer.from('x'), 100);
  await aborted.abort();
  t.same(readdirSync(dir), ['a'], 'an aborted file leaves no temporary file and no final one');
});

t.test('the restore marker: made durable, refused twice, and its removal is durable too; the store will not open a marked directory', async (t) => {
  const dir = scratchDir(t);
  const { sfs, log } = recording();
  await markRestoreInProgress(sfs, dir, 'restoring\n');
  const marker = join(dir, RESTORE_MARKER);
  t.equal(readFileSync(marker, 'utf8'), 'restoring\n');
  t.equal(statSync(marker).mode & 0o777, 0o600);
  // (A directory's fsync opens it first.)
  const ops = (): string[] => log.filter((l) => !l.startsWith('write ') && l !== `open ${dir}`);
  t.same(ops(), [`open ${marker}`, `fsync ${marker}`, `fsync ${dir}`], 'the file, then the directory');
  await t.rejects(markRestoreInProgress(sfs, dir, 'again\n'), { code: 'EEXIST' }, 'a second mark is refused');
  await t.rejects(SnapshotStore.open(dir), { code: 'INTERRUPTED_RESTORE' }, 'the store refuses a marked directory');
  log.length = 0;
  await clearRestoreMarker(sfs, dir);
  t.notOk(existsSync(marker));
  t.same(ops(), [`unlink ${marker}`, `fsync ${dir}`], 'removed, then the directory fsynced');
  await clearRestoreMarker(sfs, dir);
  t.pass('clearing an absent marker is no error');
});
